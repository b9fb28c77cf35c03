/**
 * Restore Test's warning "the restore server is the set's own source server" (issue 16): when the
 * credential's address is the one the set's manifest recorded. Loopback names are one host; a
 * different port, host or SQL Server instance is another server.
 */
import type { Manifest } from '../../../core/backup-set/manifest';
import { isSetSourceServer, type RestoreServerAddress } from '../../../nodes/shared/restore-run';

const postgresSet = (host: string, port: number) =>
	({
		engine: 'postgres',
		backupId: 'prod-20261126T020000Z-full-db',
		source: { host, port, database: 'protheus' },
	}) as unknown as Manifest;
const sqlServerSet = (host: string, port: number | null, instance: string | null) =>
	({
		engine: 'sqlserver',
		backupId: 'prod-20261126T020000Z-full-db',
		source: { host, port, instance, database: 'PROTHEUS', serverName: 'SQLPROD01' },
	}) as unknown as Manifest;
const postgres = (host: string, port: number): RestoreServerAddress => ({
	engine: 'postgres',
	host,
	port,
	instance: null,
});
const sqlServer = (host: string, port: number | null, instance: string | null = null): RestoreServerAddress => ({
	engine: 'sqlserver',
	host,
	port,
	instance,
});

describe('isSetSourceServer', () => {
	it.each([
		['the same host and port', 'db01.example', 5432, 'db01.example', 5432, true],
		['the same host, another case', 'DB01.example', 5432, 'db01.EXAMPLE', 5432, true],
		['localhost and 127.0.0.1', '127.0.0.1', 5432, 'localhost', 5432, true],
		["Debian's 127.0.1.1 and localhost", 'localhost', 5432, '127.0.1.1', 5432, true],
		['::1 and localhost', '::1', 5432, 'localhost', 5432, true],
		['another port (another cluster)', '127.0.0.1', 5432, '127.0.0.1', 5433, false],
		['another host', 'db01.example', 5432, 'restore01.example', 5432, false],
	])('PostgreSQL, %s', (_what, setHost, setPort, host, port, expected) => {
		expect(isSetSourceServer(postgresSet(setHost, setPort), postgres(host, port))).toBe(expected);
	});

	it.each([
		['the same server and port', ['sqlprod01', 1433, null], ['SQLPROD01', 1433], true],
		['the same named instance', ['sqlprod01', null, 'TOTVS'], ['sqlprod01', null, 'totvs'], true],
		['another instance on the same host', ['sqlprod01', null, 'TOTVS'], ['sqlprod01', null, 'HOMOLOG'], false],
		['another host', ['sqlprod01', 1433, null], ['sqlrestore01', 1433], false],
		['another port', ['sqlprod01', 1433, null], ['sqlprod01', 14330], false],
	] as Array<[string, [string, number | null, string | null], [string, number | null, string?], boolean]>)(
		'SQL Server, %s',
		(_what, [setHost, setPort, setInstance], [host, port, instance], expected) => {
			expect(
				isSetSourceServer(sqlServerSet(setHost, setPort, setInstance), sqlServer(host, port, instance ?? null)),
			).toBe(expected);
		},
	);

	it('a set of another engine than the server is never "its own server"', () => {
		expect(isSetSourceServer(sqlServerSet('127.0.0.1', 5432, null), postgres('127.0.0.1', 5432))).toBe(false);
	});
});
