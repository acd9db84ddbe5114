pytest_plugins = ["scimitar.pytest_plugin"]
