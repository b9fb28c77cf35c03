/** jest globalTeardown: stops the shared server started by global-setup.ts. */
import { promises as fsp } from 'node:fs';
import { stopPostgresByInfo, type PgServer, type PgStopInfo } from '../../support/postgres';
import { SHARED_SERVER_KEY } from './global-setup';
import { SHARED_PG_ENV, SHARED_PG_STATE_ENV } from '../../support/shared-postgres';

export default async function globalTeardown(): Promise<void> {
	const holder = globalThis as Record<string, unknown>;
	const server = holder[SHARED_SERVER_KEY] as PgServer | undefined;
	const statePath = process.env[SHARED_PG_STATE_ENV];
	if (server) {
		await server.stop();
	} else if (statePath) {
		// Teardown loaded without setup's module state (e.g. another module registry).
		const info = JSON.parse(await fsp.readFile(statePath, 'utf8')) as PgStopInfo;
		await stopPostgresByInfo(info);
	}
	if (statePath) await fsp.rm(statePath, { force: true });
	delete holder[SHARED_SERVER_KEY];
	delete process.env[SHARED_PG_ENV];
	delete process.env[SHARED_PG_STATE_ENV];
}
