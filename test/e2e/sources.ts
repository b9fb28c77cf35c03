/**
 * The servers the e2e workflows back up, on loopback, and the n8n credentials that point at
 * them. Today: a Protheus-like database on the shared PostgreSQL. When TOTVS Upload lands, its
 * SFTP/FTP servers get a `…Credential()` helper here and an entry in examples.e2e.ts's
 * credential table.
 */
import { randomBytes } from 'node:crypto';
import { createProtheusDatabase, dropDatabase, type ProtheusDatabaseDescription } from '../fixtures/protheus-db';
import { createRole, dropRole } from '../harness/postgres';
import { sharedPostgres, uniqueName } from '../harness/shared-postgres';
import type { CredentialToImport } from './n8n-cli';

export interface ProtheusSource {
	database: string;
	user: string;
	password: string;
	fixture: ProtheusDatabaseDescription;
	/** A `totvsPostgres` credential for n8n import, optionally with other fields (a wrong password…). */
	credential(id: string, name: string, overrides?: Record<string, unknown>): CredentialToImport;
	drop(): Promise<void>;
}

/** A small Protheus database and a least-privilege backup role (pg_read_all_data), as a site should use. */
export async function createProtheusSource(label: string, scale = 300): Promise<ProtheusSource> {
	const server = sharedPostgres();
	const database = uniqueName(label);
	const user = uniqueName(`${label}_bkp`);
	// Symbols a shell or a URL would mangle: the password must reach pg_dump intact.
	const password = `E2e:${randomBytes(6).toString('hex')}\\@'"$`;
	const fixture = await createProtheusDatabase(server, { name: database, scale });
	await createRole(server, user, password, { memberOf: ['pg_read_all_data'] });
	return {
		database,
		user,
		password,
		fixture,
		credential: (id, name, overrides = {}) => ({
			id,
			name,
			type: 'totvsPostgres',
			data: {
				host: server.host,
				port: server.port,
				database,
				user,
				password,
				sslMode: 'disable',
				binFolder: server.binDir,
				...overrides,
			},
		}),
		async drop() {
			await dropDatabase(server, database);
			await dropRole(server, user);
		},
	};
}
