-- wrk script for bench/crash.sh: every request counts a new short URL (a
-- flood of new pages, the slowest writes), and the 200 answers are tallied
-- so the script can compare them with the database after a kill -9.
-- Prints one line at the end: "CRASH ok=N other=N".
local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	table.insert(threads, thread)
end

ok = 0
other = 0
local n = 0

request = function()
	n = n + 1
	return wrk.format("GET", "/count?url=crash.example/" .. id .. "/" .. n)
end

response = function(status)
	if status == 200 then
		ok = ok + 1
	else
		other = other + 1
	end
end

done = function()
	local o, x = 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok")
		x = x + t:get("other")
	end
	io.write(string.format("CRASH ok=%d other=%d\n", o, x))
end
