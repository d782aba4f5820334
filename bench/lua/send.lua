-- POST /server/api/v2/messages/send/{chatId}: a text message.
-- args: token, chats file (one id a line), mode (async | sync), then the thread count.
-- Thread i sends to chats i, i+T, i+2T, ... in turn: with as many threads as connections
-- (scenario 1) every connection has a chat of its own.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
done = common.done

local mine = {}
local n = 0
local headers = {}
local body = '{"type": "text", "text": "Hello from the benchmark: your order #1234 is on its way."}'
local prefix = "/server/api/v2/messages/send/"

function init(args)
   local nthreads = common.nthreads(args)
   local all = common.lines(args[2])
   for i = tid + 1, #all, nthreads do table.insert(mine, all[i]) end
   if #mine == 0 then mine = { all[(tid % #all) + 1] } end
   headers["Authorization"] = "Bearer " .. args[1]
   headers["Content-Type"] = "application/json"
   if args[3] == "async" then headers["Prefer"] = "respond-async" end
end

function request()
   n = n + 1
   local chat = mine[((n - 1) % #mine) + 1]
   return wrk.format("POST", prefix .. chat, headers, body)
end
