/** Tests start their own redis-server through the same launcher the demo and the bench use. */
export { freeLoopbackPort, startRedisServer, type RedisServerHandle, type RedisServerOptions } from '../../bin/lib/redis-server.js';
