"""Record an IdP's real traffic into a replayable scenario (`scimitar record`): a loopback reverse
proxy (`proxy`) or a HAR file (`har`) yields `Captured` exchanges, `writer` turns them into YAML."""
