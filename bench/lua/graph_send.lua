-- POST /{version}/{phone-number-id}/messages (a WhatsApp Cloud API send) to a peer (mockpost).
-- args: token, path, recipients file. Thread i sends to its own recipients in turn.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
done = common.done

local mine = {}
local n = 0
local headers = {}
local path = ""

function init(args)
   local nthreads = common.nthreads(args)
   headers["Authorization"] = "Bearer " .. args[1]
   headers["Content-Type"] = "application/json"
   path = args[2]
   local all = common.lines(args[3])
   for i = tid + 1, #all, nthreads do table.insert(mine, all[i]) end
   if #mine == 0 then mine = { all[(tid % #all) + 1] } end
end

function request()
   n = n + 1
   local to = mine[((n - 1) % #mine) + 1]
   local body = '{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "' .. to ..
      '", "type": "text", "text": {"body": "Hello from the benchmark: your order #1234 is on its way."}}'
   return wrk.format("POST", path, headers, body)
end
