-- Redis's Lua sandbox, run once when the VM starts (chunk name "=internal", which the error
-- handler skips when it looks for the script line that failed).
local hooks = ...
local G = _G
local getinfo, xpcall, raw_pcall, type, tostring, error, next, rawset =
  debug.getinfo, xpcall, pcall, type, tostring, error, next, rawset
local raw_setmetatable, raw_loadstring, select = setmetatable, loadstring, select

local READONLY = 'Attempt to modify a readonly table'
local readonly_tables = raw_setmetatable({}, {__mode = 'k'})

local function refuse_write() error(READONLY, 2) end

-- A read-only view of `t`: empty itself, so every write reaches __newindex. `strict` makes a
-- missing field an error, as for globals.
local function readonly(t, strict)
  local index = t
  if strict then
    index = function(_, k)
      local v = t[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end
  end
  local mt = {__index = index, __newindex = refuse_write}
  mt.__metatable = raw_setmetatable({}, {__index = mt, __newindex = refuse_write, __metatable = false})
  local proxy = raw_setmetatable({}, mt)
  readonly_tables[proxy] = true
  return proxy
end

-- Errors become {err=..., source=..., line=...}: the reply names the script line.
local function handler(err)
  local level = 2
  local i = getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == '=internal') do
    level = level + 1
    i = getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then
    if type(err) == 'userdata' then err = hooks.error_text(err) end
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

local function run(f, a, b)
  return xpcall(function() return f(a, b) end, handler)
end

-- The arguments travel as one table: passed one by one, a call with thousands of them
-- (`redis.call('lpush', k, unpack(t))`) would overflow the Rust side's stack.
local redis = hooks.redis
redis.call = function(...)
  local reply, failed = hooks.dispatch({...}, select('#', ...), false)
  if failed then error(reply, 0) end
  return reply
end
redis.pcall = function(...)
  local reply = hooks.dispatch({...}, select('#', ...), false)
  return reply
end
redis.acl_check_cmd = function(...)
  local allowed, failed = hooks.dispatch({...}, select('#', ...), true)
  if failed then error(allowed, 0) end
  return allowed
end

-- A killed script must not survive by catching the kill with pcall.
local function after_pcall(...)
  if hooks.killed() then error(hooks.kill_message(), 0) end
  return ...
end
G.pcall = function(...) return after_pcall(raw_pcall(...)) end

G.setmetatable = function(t, m)
  if readonly_tables[t] then error(READONLY, 2) end
  return raw_setmetatable(t, m)
end
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary chunks are not allowed' end
  return raw_loadstring(s, name)
end

for _, name in next, {'debug', 'print', 'loadfile', 'dofile', 'setfenv', 'getfenv',
                      'module', 'newproxy', 'require', 'package', 'io', 'os', 'load'} do
  G[name] = nil
end

-- The globals move to `backing`; _G itself stays empty behind a strict read-only metatable
-- whose lookups go to `state.env` (the load-time API while FUNCTION LOAD runs).
local backing = {}
for k, v in next, G do backing[k] = v end
for k in next, backing do rawset(G, k, nil) end
for _, name in next, {'redis', 'cjson', 'cmsgpack', 'bit', 'string', 'math', 'table', 'coroutine'} do
  backing[name] = readonly(backing[name], false)
end
backing._G = G

-- Library code run by FUNCTION LOAD sees nothing but the load-time `redis` (as in Redis
-- 7.0): no string, math or table, not even `type` or `getmetatable`.
local load_api = {}
load_api.redis = readonly(hooks.load_redis, true)

local state = {env = backing}
local mt = {
  __index = function(_, k)
    local v = state.env[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = refuse_write,
}
mt.__metatable = raw_setmetatable({}, {__index = mt, __newindex = refuse_write, __metatable = false})
raw_setmetatable(G, mt)
readonly_tables[G] = true

return run, state, backing, load_api
