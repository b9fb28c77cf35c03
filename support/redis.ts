/**
 * Debian's redis-server on a free loopback port, for n8n's queue mode (Bull keeps its jobs in
 * Redis). No persistence: the tests never need a job to survive a Redis restart, only that n8n
 * reconnects and later jobs run. `restart()` stops it and starts it again on the same port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnDaemon, waitForPort, type Daemon } from './daemons';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
	host: '127.0.0.1';
	port: number;
	/** Stops the server (SIGTERM) and starts a new one on the same port, empty. */
	restart(): Promise<void>;
	/** Times restart() ran. */
	restarts: number;
	output(): string;
	stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
	const port = await freePort();
	const dir = mkdtempSync(path.join(os.tmpdir(), 'totvs-redis-'));
	const args = [
		'--port',
		String(port),
		'--bind',
		'127.0.0.1',
		'--dir',
		dir,
		'--save',
		'',
		'--appendonly',
		'no',
		'--daemonize',
		'no',
	];
	const launch = async (): Promise<Daemon> => {
		const daemon = spawnDaemon(REDIS_SERVER, args);
		await waitForPort(port, daemon, 'redis-server');
		return daemon;
	};
	let daemon = await launch();
	const server: RedisServer = {
		host: '127.0.0.1',
		port,
		restarts: 0,
		async restart() {
			await daemon.stop();
			daemon = await launch();
			server.restarts++;
		},
		output: () => daemon.output(),
		async stop() {
			await daemon.stop();
			rmSync(dir, { recursive: true, force: true });
		},
	};
	return server;
}
