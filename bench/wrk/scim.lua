-- wrk script for bench/server.py: one request shape per run, a JSON summary line at the end.
-- usage: wrk ... -s scim.lua URL -- MODE TOKEN NONCE
--   MODE  get | post | patch   (get: the URL as is; post: a new User with a unique userName;
--                               patch: replace displayName of the User at URL)
--   TOKEN bearer token ("-" for none); NONCE makes userNames unique across runs.

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("tid", next_id)
   table.insert(threads, thread)
end

function init(args)
   mode = args[1] or "get"
   local token = args[2] or "-"
   nonce = args[3] or "0"
   counter = 0
   if token ~= "-" then
      wrk.headers["Authorization"] = "Bearer " .. token
   end
   wrk.headers["Accept"] = "application/scim+json"
   if mode ~= "get" then
      wrk.headers["Content-Type"] = "application/scim+json"
   end
   if mode == "get" then
      static_request = wrk.format("GET", wrk.path, wrk.headers, nil)
   end
end

local post_fmt = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
   .. '"userName":"bench.%s.%d.%d@example.com","externalId":"bench-%s-%d-%d",'
   .. '"name":{"givenName":"Bench","familyName":"User %d"},"displayName":"Bench User %d",'
   .. '"emails":[{"value":"bench.%s.%d.%d@example.com","type":"work","primary":true}],"active":true}'

local patch_fmt = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
   .. '"Operations":[{"op":"replace","path":"displayName","value":"Bench %d-%d"}]}'

function request()
   counter = counter + 1
   if mode == "post" then
      local body = string.format(post_fmt, nonce, tid, counter, nonce, tid, counter,
                                 counter, counter, nonce, tid, counter)
      return wrk.format("POST", wrk.path, wrk.headers, body)
   elseif mode == "patch" then
      return wrk.format("PATCH", wrk.path, wrk.headers, string.format(patch_fmt, tid, counter))
   end
   return static_request
end

function done(summary, latency, requests)
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"mean_us":%.1f,"max_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,'
      .. '"err_status":%d,"err_timeout":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max,
      summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout))
end
