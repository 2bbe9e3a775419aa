-- wrk script for bench/wal-flood.sh: every request counts a new URL of
-- about 2 KiB (the longest `url` accepted is 2048 bytes), the worst case
-- for the database's growth and the WAL.
local chars = "abcdefghijklmnopqrstuvwxyz0123456789"
local counter = 0

function setup(thread)
	thread:set("id", math.random(1, 1e9))
end

request = function()
	counter = counter + 1
	local t = {}
	for i = 1, 2000 do
		local n = math.random(1, #chars)
		t[i] = chars:sub(n, n)
	end
	local url = "flood.example/" .. id .. "/" .. counter .. "/" .. table.concat(t)
	return wrk.format("GET", "/count?url=" .. url)
end
