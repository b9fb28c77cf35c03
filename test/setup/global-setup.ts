/**
 * jest globalSetup: starts the one PostgreSQL server the whole run shares. Its connection
 * info goes to process.env (inherited by jest's workers); what teardown needs to stop it goes
 * to a file, because globalSetup and globalTeardown are loaded as separate modules.
 *
 * No PostgreSQL installed is an error, not a skip: integration tests must not pass silently.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres, type PgServer } from '../../support/postgres';
import { SHARED_PG_ENV, SHARED_PG_STATE_ENV } from '../../support/shared-postgres';

/** Same-process handle, so teardown can use the live object when it can. */
export const SHARED_SERVER_KEY = '__totvsSharedPostgres';

export default async function globalSetup(): Promise<void> {
	// A developer may point the run at a server of their own; then it is not ours to stop.
	if (process.env[SHARED_PG_ENV] && !process.env[SHARED_PG_STATE_ENV]) return;

	let server: PgServer;
	try {
		server = await startPostgres();
	} catch (error) {
		throw new Error(
			`Could not start the test PostgreSQL server: ${(error as Error).message}\n` +
				'Install it with `.ci/run` (as root) or `apt-get install postgresql postgresql-contrib`.',
			{ cause: error },
		);
	}
	const statePath = path.join(os.tmpdir(), `totvs-test-pg-${process.pid}.json`);
	await fsp.writeFile(statePath, JSON.stringify(server.stopInfo()), { mode: 0o600 });

	process.env[SHARED_PG_ENV] = JSON.stringify(server.info());
	process.env[SHARED_PG_STATE_ENV] = statePath;
	(globalThis as Record<string, unknown>)[SHARED_SERVER_KEY] = server;
}
