-- GET a random line of a file of paths (each with its query string).
-- args: token, paths file.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
done = common.done

local paths = {}
local headers = {}

function init(args)
   headers["Authorization"] = "Bearer " .. args[1]
   paths = common.lines(args[2])
   math.randomseed(1234 + tid)
end

function request()
   return wrk.format("GET", paths[math.random(#paths)], headers)
end
