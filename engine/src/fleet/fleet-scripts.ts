/**
 * The Lua scripts that change fleet state atomically. Redis runs a script as one step, so a
 * compare-and-set on the epoch plus the stream appends can never be seen half-done, and two
 * operators racing on one epoch get one winner: the other's script answers E_FLEET_CONFLICT.
 */

/**
 * KEYS: release hash, mods set, channel stream, audit stream, lease key.
 * ARGV: expected epoch ("0" = no record yet), new epoch, record JSON, mod, audit entry JSON,
 *       stream max length, lease owner ("" = an operator's command: no lease needed).
 */
export const CAS_RELEASE = `
local current = redis.call('HGET', KEYS[1], 'epoch')
if not current then current = '0' end
if current ~= ARGV[1] then
  return redis.error_reply('E_FLEET_CONFLICT the release of ' .. ARGV[4] .. ' changed first (epoch ' .. current .. ', expected ' .. ARGV[1] .. ')')
end
if ARGV[7] ~= '' then
  local owner = redis.call('GET', KEYS[5])
  if owner ~= ARGV[7] then
    return redis.error_reply('E_FLEET_LEASE the controller lease of ' .. ARGV[4] .. ' is held by ' .. tostring(owner))
  end
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'record', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'mod', ARGV[4], 'epoch', ARGV[2])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'mod', ARGV[4], 'epoch', ARGV[2], 'entry', ARGV[5])
return ARGV[2]
`;

/**
 * Takes or renews the controller lease. KEYS: lease key. ARGV: owner, ttl ms.
 * Answers 1 when `owner` holds it afterwards, else the current owner.
 */
export const TAKE_LEASE = `
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return owner
`;

/** Gives the lease up if `owner` holds it. KEYS: lease key. ARGV: owner. */
export const DROP_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
