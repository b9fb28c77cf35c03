/**
 * The one PostgreSQL server a jest run shares (started by global-setup.ts). Test files call
 * `sharedPostgres()` and create their own databases and roles on it, with `uniqueName()` so
 * suites running in parallel workers never collide.
 */
import { randomBytes } from 'node:crypto';
import { adminFor, type PgAdmin, type PgConnectionInfo } from './postgres';

/** JSON of PgConnectionInfo, set by global-setup.ts (or by a developer to reuse a server). */
export const SHARED_PG_ENV = 'TOTVS_TEST_PG';
/** Path of the JSON file with the PgStopInfo that global-teardown.ts uses. */
export const SHARED_PG_STATE_ENV = 'TOTVS_TEST_PG_STATE';

export function sharedPostgresInfo(): PgConnectionInfo {
	const raw = process.env[SHARED_PG_ENV];
	if (!raw) {
		throw new Error(
			`${SHARED_PG_ENV} is not set: run the tests through jest (its globalSetup, ` +
				'test/setup/global-setup.ts, starts the shared PostgreSQL server).',
		);
	}
	const info = JSON.parse(raw) as PgConnectionInfo;
	for (const key of ['host', 'port', 'user', 'password', 'binDir'] as const) {
		if (info[key] === undefined || info[key] === '') throw new Error(`${SHARED_PG_ENV} lacks "${key}".`);
	}
	return info;
}

export function sharedPostgres(): PgAdmin {
	return adminFor(sharedPostgresInfo());
}

/** A lower-case name safe as a database or role name, unique across workers and runs. */
export function uniqueName(prefix: string): string {
	const clean = prefix
		.toLowerCase()
		.replace(/[^a-z0-9_]/g, '_')
		.slice(0, 30);
	return `${clean}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
