/**
 * TOTVS Restore Test and TOTVS Restore against the real PostgreSQL server: a good set passes every
 * check; each fault makes exactly the check meant for it fail, and the scratch database is gone
 * afterwards; cancelling cleans up; Restore Database's guards hold.
 *
 * How the faults are made, honestly: the backup set itself is never edited (Verify would, and
 * must, refuse an edited set before anything is restored). What each check exists for is a
 * restored database that differs from what the backup recorded, whatever the cause. We produce
 * exactly such databases with a pg_restore stand-in put in the restore credential's "client
 * folder", the way a DBA would leave something out: it restores through a table-of-contents
 * list without some entries (pg_restore -l | grep -v | pg_restore -L), or runs one SQL
 * statement after the real pg_restore. The checks then run on a genuinely different database.
 * The UTF8 fault uses the node's own "Database Encoding" option (a migration rehearsal).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { listSets, readSet } from '../../core/backup-set/catalog';
import type { Manifest, PostgresInventory } from '../../core/backup-set/manifest';
import { isBackupError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { SCRATCH_PREFIX, STAGING_PREFIX } from '../../core/restore-shared/prefixes';
import { runRestoreTest } from '../../core/sources/postgres/restore/set-restore';
import { databaseNameFor, defaultRestoreOptions } from '../../core/sources/postgres/restore/pg-restore';
import { TotvsPostgres } from '../../credentials/TotvsPostgres.credentials';
import { TotvsRestore } from '../../nodes/TotvsRestore/TotvsRestore.node';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import { createRole, dropRole } from '../../support/postgres';
import {
	MANUAL_TRIGGER_TYPE,
	PACKAGE_NAME,
	packageNodeTypes,
	runWorkflow,
	type HarnessCredential,
} from '../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import {
	credentialFor,
	DUMP_TYPE,
	runTotvsWorkflow,
	VERIFY_TYPE,
	type PostgresCredentialData,
} from '../../support/totvs-workflow';

const RESTORE_TEST_TYPE = `${PACKAGE_NAME}.totvsRestoreTest`;
const RESTORE_TYPE = `${PACKAGE_NAME}.totvsRestore`;
const server = sharedPostgres();
let database: string;
let staging: string;
let setFolder: string;
let manifest: Manifest;
let scratch: string;

/** The restore server's credential: the same server here, as the superuser, maintenance db postgres. */
const restoreCredential = (binFolder = server.binDir): PostgresCredentialData => ({
	...credentialFor(server, 'postgres'),
	binFolder,
});
const restoreCredentials = (binFolder?: string) => ({
	restore: { type: 'totvsPostgres', name: 'Restore server', data: restoreCredential(binFolder) },
});

/** Every check the restore test reports for a PostgreSQL set, in order. */
const CHECK_NAMES = [
	'manifest',
	'artifacts',
	'archive',
	'restore',
	'encoding',
	'tables',
	'top-tables',
	'sys-tables',
	'procedures',
	'unq-indexes',
	'triggers',
	'row-counts',
	'max-recno',
	'duplicate-recno',
	'protheus-columns',
	'fingerprints',
	'freshness',
];

beforeAll(async () => {
	database = uniqueName('protheus_rt');
	await createProtheusDatabase(server, { name: database, scale: 300 });
	// A customer table (SZ1, no _UNQ index, as hand-made tables often are) and a SYS_* table
	// without indexes: leaving one of them out of a restore changes exactly one table set.
	await server.admin(
		`CREATE TABLE sz1010 (zz_cod char(6) NOT NULL DEFAULT ' ', d_e_l_e_t_ char(1) NOT NULL DEFAULT ' ', r_e_c_n_o_ integer PRIMARY KEY);
		 INSERT INTO sz1010 SELECT lpad(g::text, 6, '0'), ' ', g FROM generate_series(1, 50) g;
		 CREATE TABLE sys_rules (rule_id varchar(10) NOT NULL, rule_desc varchar(60) NOT NULL);
		 INSERT INTO sys_rules VALUES ('R1', 'Regra padrão'), ('R2', 'Regra fiscal')`,
		database,
	);
	staging = mkdtempSync(join(tmpdir(), 'totvs-rt-staging-'));
	const dumped = await runTotvsWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'TOTVS Dump',
					type: DUMP_TYPE,
					parameters: { environment: 'prod', stagingFolder: staging },
					credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
				},
			],
			connections: { Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] } },
		},
		credentialFor(server, database),
	);
	expect(dumped.error).toBeUndefined();
	setFolder = dumped.jsonOf('TOTVS Dump')[0].location as string;
	manifest = await readSet(setFolder);
	scratch = databaseNameFor(SCRATCH_PREFIX, manifest.backupId);
});

afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(staging, { recursive: true, force: true });
});

afterEach(async () => {
	// Whatever a test did, the scratch database must not survive it (tests that keep it drop it).
	expect(await databasesLike(`${SCRATCH_PREFIX}%`)).not.toContain(scratch);
});

async function databasesLike(pattern: string): Promise<string[]> {
	return (
		await server.admin<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', 'postgres', [
			pattern,
		])
	).map((r) => r.datname);
}

/** Start -> TOTVS Restore Test, on one set folder, with the restore server's credential. */
function restoreTestOnly(parameters: INodeParameters, binFolder?: string, continueOnFail = false) {
	return runTotvsWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'TOTVS Restore Test',
					type: RESTORE_TEST_TYPE,
					parameters: { setFolder, ...parameters },
					credentials: { totvsPostgres: { id: 'restore', name: 'Restore server' } },
					continueOnFail,
				},
			],
			connections: { Start: { main: [[{ node: 'TOTVS Restore Test', type: 'main', index: 0 }]] } },
		},
		credentialFor(server, database),
		restoreCredentials(binFolder),
	);
}

/** Start -> TOTVS Restore (Restore Database) of the set, with the restore server's credential. */
function restoreOnly(parameters: INodeParameters, restoreServer: HarnessCredential = restoreCredentials().restore) {
	return runWorkflow(
		{
			nodes: [
				{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
				{
					name: 'TOTVS Restore',
					type: RESTORE_TYPE,
					parameters: { setFolder, operation: 'database', ...parameters },
					credentials: { totvsPostgres: { id: 'restore', name: 'Restore server' } },
				},
			],
			connections: { Start: { main: [[{ node: 'TOTVS Restore', type: 'main', index: 0 }]] } },
		},
		{
			nodeTypes: packageNodeTypes([new TotvsRestore()]),
			credentialTypes: [new TotvsPostgres()],
			credentials: { restore: restoreServer },
		},
	);
}

interface Check {
	name: string;
	ok: boolean;
	expected: string;
	actual: string;
	message: string;
}
const checksOf = (item: IDataObject) => (item.restoreTest as { checks: Check[] }).checks;
const failedNames = (item: IDataObject) =>
	checksOf(item)
		.filter((c) => !c.ok)
		.map((c) => c.name);

/**
 * A pg_restore stand-in: `--list` and `--version` go to the real one (Verify reads the archive
 * with them); a restore goes through a TOC list without the lines matching `leaveOut`, then
 * runs `sqlAfter` in the restored database (PGDATABASE is set to it, password via PGPASSFILE).
 */
function pgRestoreStandIn(opts: { leaveOut?: string; sqlAfter?: string; stopAfterSchema?: boolean }): string {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-pgrestore-'));
	const real = join(server.binDir, 'pg_restore');
	const psql = join(server.binDir, 'psql');
	const lines = [
		'#!/bin/sh',
		`REAL="${real}"`,
		'case "$1" in --version|--list) exec "$REAL" "$@";; esac',
		'for archive; do :; done',
		'echo $$ > "' + join(folder, 'pid') + '"',
	];
	if (opts.stopAfterSchema) {
		// Tables created, then a long "data section": what a cancel in the middle of a restore meets.
		lines.push('"$REAL" --section=pre-data "$@" || exit $?', `touch "${join(folder, 'schema-done')}"`, 'exec sleep 60');
	} else if (opts.leaveOut) {
		lines.push(`"$REAL" --list "$archive" | grep -v -E '${opts.leaveOut}' > "${join(folder, 'toc.list')}"`);
		lines.push(`"$REAL" --use-list="${join(folder, 'toc.list')}" "$@" || exit $?`);
	} else {
		lines.push('"$REAL" "$@" || exit $?');
	}
	if (opts.sqlAfter) lines.push(`"${psql}" -X -q -v ON_ERROR_STOP=1 -c "${opts.sqlAfter}" || exit $?`);
	writeFileSync(join(folder, 'pg_restore'), lines.join('\n') + '\n');
	chmodSync(join(folder, 'pg_restore'), 0o755);
	execFileSync('ln', ['-s', join(server.binDir, 'pg_dump'), join(folder, 'pg_dump')]);
	return folder;
}

describe('Dump -> Verify -> Restore Test in the n8n engine', () => {
	it('a good set passes every check, reports times and sizes, and leaves no scratch database', async () => {
		const result = await runTotvsWorkflow(
			{
				nodes: [
					{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
					{
						name: 'TOTVS Dump',
						type: DUMP_TYPE,
						parameters: { environment: 'prod', stagingFolder: staging },
						credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
					},
					{ name: 'TOTVS Verify', type: VERIFY_TYPE, parameters: {} },
					{
						name: 'TOTVS Restore Test',
						type: RESTORE_TEST_TYPE,
						parameters: { options: { htmlReport: true, language: 'pt-BR', jobs: 2 } },
						credentials: { totvsPostgres: { id: 'restore', name: 'Restore server' } },
					},
				],
				connections: {
					Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
					'TOTVS Dump': { main: [[{ node: 'TOTVS Verify', type: 'main', index: 0 }]] },
					'TOTVS Verify': { main: [[{ node: 'TOTVS Restore Test', type: 'main', index: 0 }]] },
				},
			},
			credentialFor(server, database),
			restoreCredentials(),
		);
		expect(result.error).toBeUndefined();
		const [output] = result.outputOf('TOTVS Restore Test');
		const item = output.json;
		const dumped = result.jsonOf('TOTVS Dump')[0];
		const report = item.restoreTest as {
			passed: boolean;
			restoreMs: number;
			checksMs: number;
			restoredBytes: number;
			scratchDatabase: string;
			kept: boolean;
			checks: Check[];
		};
		expect(checksOf(item).filter((c) => !c.ok)).toEqual([]);
		expect(checksOf(item).map((c) => c.name)).toEqual(CHECK_NAMES);
		expect(report).toMatchObject({
			passed: true,
			kept: false,
			scratchDatabase: databaseNameFor(SCRATCH_PREFIX, dumped.backupId as string),
		});
		expect(item).toMatchObject({ status: 'ok', backupId: dumped.backupId, verification: { ok: true } });
		expect(report.restoreMs).toBeGreaterThan(0);
		expect(report.restoredBytes).toBeGreaterThan(1024 * 1024);
		expect(item.summary).toMatch(/^Teste de restauração do backup prod-.* APROVADO: 17 verificações OK/);
		// Expected and actual values are real values, e.g. the row total and the encoding.
		const rows = ((await readSet(dumped.location as string)).inventory as PostgresInventory).tables.reduce(
			(sum, t) => sum + t.rows,
			0,
		);
		expect(checksOf(item).find((c) => c.name === 'row-counts')).toMatchObject({
			expected: expect.stringContaining(`${rows} rows`),
			actual: `${rows} rows`,
		});
		expect(checksOf(item).find((c) => c.name === 'encoding')).toMatchObject({
			expected: 'WIN1252 / C / C',
			actual: 'WIN1252 / C / C',
		});
		// The HTML report: binary, small, every check listed, values escaped.
		const html = Buffer.from(output.binary!.report.data, 'base64').toString('utf8');
		expect(output.binary!.report).toMatchObject({
			mimeType: 'text/html',
			fileName: `restore-test-${dumped.backupId}.html`,
		});
		expect(html).toContain('APROVADO');
		for (const name of CHECK_NAMES)
			expect(html).toContain(
				`<td style="border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top">${name}</td>`,
			);
		expect(html.length).toBeLessThan(20_000);
		expect(await databasesLike(report.scratchDatabase)).toEqual([]);
		expect(result.logs.join('\n')).not.toContain(server.password);
		// Same server as production here: said plainly, since it competes with Protheus for I/O.
		expect(result.logs.some((l) => /^\[warn\] Restore test of .* runs on the production server/.test(l))).toBe(true);
		// ... and in the item and its summary, not only in n8n's log (issue 16).
		expect(item.restoreTest).toMatchObject({ onSourceServer: true, warnings: [expect.stringMatching(/^Atenção: /)] });
		expect(item.summary).toMatch(
			new RegExp(
				`APROVADO: .* Atenção: o servidor de restauração ${server.host.replace(/\./g, '\\.')}:${server.port} é o servidor de onde o backup ${dumped.backupId} foi feito`,
			),
		);
		// The measured recovery time; a local set has no destination to record the test on.
		expect(item.restoreTest).toMatchObject({ rtoMs: report.restoreMs + report.checksMs, record: null });
	});

	// (A table-limited dump of tables with triggers, e.g. SA1's S_T_A_M_P_, does not restore:
	// pg_dump -t leaves the trigger function out, and the restore check says so.)
	it.each<[string, Record<string, string | number>]>([
		['a directory-format (parallel) dump', { format: 'directory', jobs: 2 }],
		[
			'a dump limited to some tables (no functions in it: procedures not applicable)',
			{ includeTables: 'sa2*, sb1*, top_*' },
		],
	])('restores %s as well', async (_what, dumpOptions) => {
		const dir = mkdtempSync(join(tmpdir(), 'totvs-rt-dir-'));
		try {
			const result = await runTotvsWorkflow(
				{
					nodes: [
						{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
						{
							name: 'TOTVS Dump',
							type: DUMP_TYPE,
							parameters: { environment: 'homolog', stagingFolder: dir, options: dumpOptions },
							credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
						},
						{
							name: 'TOTVS Restore Test',
							type: RESTORE_TEST_TYPE,
							parameters: {},
							credentials: { totvsPostgres: { id: 'restore', name: 'Restore server' } },
						},
					],
					connections: {
						Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
						'TOTVS Dump': { main: [[{ node: 'TOTVS Restore Test', type: 'main', index: 0 }]] },
					},
				},
				credentialFor(server, database),
				restoreCredentials(),
			);
			expect(result.error).toBeUndefined();
			const [item] = result.jsonOf('TOTVS Restore Test');
			const dumped = await readSet(item.location as string);
			expect(dumped.options).toMatchObject(
				dumpOptions.format ? { format: 'directory' } : { includeTables: ['sa2*', 'sb1*', 'top_*'] },
			);
			expect(checksOf(item).map((c) => [c.name, c.ok])).toEqual(CHECK_NAMES.map((name) => [name, true]));
			if (!dumpOptions.format)
				expect(checksOf(item).find((c) => c.name === 'procedures')).toMatchObject({ expected: 'not applicable' });
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('picks the latest set of an environment in a backups folder', async () => {
		const result = await restoreTestOnly({
			setSource: 'folder',
			backupsFolder: staging,
			environment: 'prod',
			pick: 'latest',
		});
		expect(result.error).toBeUndefined();
		const [item] = result.jsonOf('TOTVS Restore Test');
		const newest = (await listSets(staging, 'prod')).sets.at(-1)!;
		expect(item).toMatchObject({
			status: 'ok',
			backupId: newest.backupId,
			location: newest.folder,
			restoreTest: { passed: true },
		});
	});

	it('works with a least-privilege restore user (CREATEDB, not superuser), password via PGPASSFILE only', async () => {
		const user = uniqueName('restorer');
		const password = 'R3st:ore\\com@simbolos';
		await createRole(server, user, password, { createdb: true });
		try {
			const result = await runTotvsWorkflow(
				{
					nodes: [
						{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
						{
							name: 'TOTVS Restore Test',
							type: RESTORE_TEST_TYPE,
							parameters: { setFolder },
							credentials: { totvsPostgres: { id: 'restore', name: 'Restore server' } },
						},
					],
					connections: { Start: { main: [[{ node: 'TOTVS Restore Test', type: 'main', index: 0 }]] } },
				},
				credentialFor(server, database),
				{
					restore: {
						type: 'totvsPostgres',
						name: 'Restore server',
						data: credentialFor(server, 'postgres', user, password),
					},
				},
			);
			expect(result.error).toBeUndefined();
			const [item] = result.jsonOf('TOTVS Restore Test');
			expect(checksOf(item).map((c) => [c.name, c.ok])).toEqual(CHECK_NAMES.map((name) => [name, true]));
			expect(result.logs.join('\n')).not.toContain(password);
			expect(JSON.stringify(item)).not.toContain(password);
		} finally {
			await dropRole(server, user);
		}
	});

	it('a backupId that is not there: a clear error', async () => {
		const result = await restoreTestOnly({
			setSource: 'folder',
			backupsFolder: staging,
			environment: 'prod',
			pick: 'backupId',
			backupId: 'prod-20000101T000000Z-full-db',
		});
		expect(result.error?.message).toMatch(/No complete PostgreSQL backup set "prod-20000101T000000Z-full-db" in /);
	});
});

describe('each fault fails exactly the right check, and the scratch database is dropped', () => {
	const cases: Array<{
		fault: string;
		failing: string[];
		binFolder?: () => string;
		parameters?: INodeParameters;
		detail: RegExp;
	}> = [
		{
			fault: 'a table missing from the restore',
			failing: ['tables'],
			binFolder: () => pgRestoreStandIn({ leaveOut: ' public sz1010 ' }),
			detail: /missing: public\.sz1010/,
		},
		{
			fault: 'a changed row count',
			failing: ['row-counts'],
			binFolder: () => pgRestoreStandIn({ sqlAfter: 'DELETE FROM sz1010 WHERE r_e_c_n_o_ = 1' }),
			detail: /public\.sz1010 49 \(expected 50\)/,
		},
		{
			fault: 'a restore into a UTF8 database (the fingerprint of the accented SA1 names catches it)',
			failing: ['encoding', 'fingerprints'],
			parameters: { options: { encoding: 'UTF8' } },
			detail: /public\.sa1010 \(text column a1_nome\)/,
		},
		{
			fault: 'a missing SYS_* table',
			failing: ['sys-tables'],
			binFolder: () => pgRestoreStandIn({ leaveOut: ' public sys_rules ' }),
			detail: /missing: public\.sys_rules/,
		},
		{
			fault: 'a missing procedure named in TOP_SP',
			failing: ['procedures'],
			binFolder: () => pgRestoreStandIn({ leaveOut: ' FUNCTION public fin001_01\\(' }),
			detail: /missing: FIN001_01/,
		},
	];

	it.each(cases)('$fault', async ({ failing, binFolder, parameters, detail }) => {
		const folder = binFolder?.();
		try {
			const result = await restoreTestOnly(parameters ?? {}, folder);
			expect(result.error).toMatchObject({ name: 'NodeOperationError' });
			expect(result.error?.message).toMatch(
				new RegExp(`^Restore test of backup set ${manifest.backupId} failed: ${failing[0]}: `),
			);
			expect((result.error as unknown as { description: string }).description).toMatch(/Do not rely on this backup/);

			const soft = await restoreTestOnly(parameters ?? {}, folder, true);
			const [item] = soft.jsonOf('TOTVS Restore Test');
			expect(item.status).toBe('failed');
			expect(failedNames(item)).toEqual(failing);
			expect(checksOf(item).map((c) => c.name)).toEqual(CHECK_NAMES);
			expect(checksOf(item).find((c) => c.name === failing[failing.length - 1])?.message).toMatch(detail);
			expect(item.restoreTest).toMatchObject({ passed: false, kept: false, scratchDatabase: scratch });
			expect(item.summary).toMatch(new RegExp(`FAILED \\(${failing.length} of ${CHECK_NAMES.length} checks\\)`));
			expect(await databasesLike(scratch)).toEqual([]);
		} finally {
			if (folder) rmSync(folder, { recursive: true, force: true });
		}
	});

	it('"keep on failure" keeps the scratch database and names it', async () => {
		const folder = pgRestoreStandIn({ sqlAfter: 'DELETE FROM sz1010 WHERE r_e_c_n_o_ = 1' });
		try {
			const [output] = (
				await restoreTestOnly(
					{ options: { keepOnFailure: true, htmlReport: true, htmlBinaryProperty: 'html' } },
					folder,
					true,
				)
			).outputOf('TOTVS Restore Test');
			const item = output.json;
			expect(item.restoreTest).toMatchObject({ passed: false, kept: true, scratchDatabase: scratch });
			// The failed item carries its HTML report too: that is the one worth mailing.
			const html = Buffer.from(output.binary!.html.data, 'base64').toString('utf8');
			expect(html).toContain(`${scratch} (kept for investigation)`);
			expect(html).toMatch(/<b style="color:#b52a2a">FAIL<\/b>/);
			expect(item.summary).toMatch(new RegExp(`Database ${scratch} kept for investigation`));
			expect(await databasesLike(scratch)).toEqual([scratch]);
			// A second test of the same set refuses to touch the kept database.
			const again = await restoreTestOnly({}, undefined);
			expect(again.error?.message).toMatch(new RegExp(`Scratch database "${scratch}" already exists`));
			expect(await databasesLike(scratch)).toEqual([scratch]);
		} finally {
			await server.admin(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
			rmSync(folder, { recursive: true, force: true });
		}
	});

	it('a pg_restore error is a failed restore check, and the scratch database is dropped', async () => {
		const folder = pgRestoreStandIn({ sqlAfter: 'SELECT 1/0' });
		try {
			const [item] = (await restoreTestOnly({}, folder, true)).jsonOf('TOTVS Restore Test');
			expect(failedNames(item)).toEqual(['restore']);
			expect(checksOf(item).at(-1)).toMatchObject({
				name: 'restore',
				ok: false,
				message: expect.stringMatching(/failed \(exit code 1\).*division by zero/s),
			});
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
	});

	it('a corrupted artifact fails before anything is restored', async () => {
		const copy = mkdtempSync(join(tmpdir(), 'totvs-rt-corrupt-'));
		try {
			cpSync(setFolder, copy, { recursive: true });
			const dump = join(copy, manifest.artifacts[0].path);
			const bytes = readFileSync(dump);
			bytes[Math.floor(bytes.length / 2)] ^= 0x40;
			writeFileSync(dump, bytes);
			// A stand-in that would record any restore attempt.
			const folder = pgRestoreStandIn({});
			const [item] = (await restoreTestOnly({ setFolder: copy }, folder, true)).jsonOf('TOTVS Restore Test');
			expect(checksOf(item).map((c) => [c.name, c.ok])).toEqual([
				['manifest', true],
				['artifacts', false],
				['archive', true],
				['restore', false],
			]);
			expect(checksOf(item)[3]).toMatchObject({ actual: 'not attempted' });
			expect(item.restoreTest).toMatchObject({ passed: false, restoreMs: 0, scratchDatabase: null });
			expect(existsSync(join(folder, 'pid'))).toBe(false); // pg_restore never ran
			rmSync(folder, { recursive: true, force: true });
		} finally {
			rmSync(copy, { recursive: true, force: true });
		}
	});
});

describe('cancelling', () => {
	it('mid-restore: pg_restore is stopped and the partly restored scratch database dropped', async () => {
		const folder = pgRestoreStandIn({ stopAfterSchema: true });
		const controller = new AbortController();
		try {
			const running = runRestoreTest({
				folder: setFolder,
				connection: { ...credentialFor(server, 'postgres'), sslMode: 'disable', binFolder: folder },
				restore: defaultRestoreOptions,
				freshnessDays: 3,
				keepOnFailure: true, // a cancellation is not a failure: dropped all the same
				log: silentLogger,
				signal: controller.signal,
			});
			const outcome = running.then(
				() => 'resolved',
				(error: unknown) => error,
			);
			while (!existsSync(join(folder, 'schema-done'))) await new Promise((r) => setTimeout(r, 50));
			// The tables exist: the restore really is half way.
			expect(
				(
					await server.admin<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'sa1010'", scratch)
				)[0].n,
			).toBe('1');
			controller.abort();
			const error = await outcome;
			expect(isBackupError(error) && error.code).toBe('CANCELLED');
			expect(await databasesLike(scratch)).toEqual([]);
			const pid = Number(readFileSync(join(folder, 'pid'), 'utf8'));
			expect(() => process.kill(pid, 0)).toThrow(); // the (stand-in) pg_restore is gone
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
	});
});

describe('TOTVS Restore: Restore Database (real recovery)', () => {
	let target: string;
	beforeEach(() => {
		target = uniqueName('restored');
	});
	afterEach(async () => {
		await server.admin(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
		expect(await databasesLike(`${STAGING_PREFIX}%`)).toEqual([]);
	});

	const restore = (parameters: INodeParameters, binFolder?: string) =>
		restoreOnly({ targetDatabase: target, ...parameters }, restoreCredentials(binFolder).restore);

	it('restores into a new database, refuses it next time, and replaces it only when asked', async () => {
		const first = await restore({});
		expect(first.error).toBeUndefined();
		const [item] = first.jsonOf('TOTVS Restore');
		expect(item).toMatchObject({
			status: 'ok',
			backupId: manifest.backupId,
			restore: { passed: true, target, database: target, replaced: false },
		});
		// The measured recovery time and size, in the item.
		const section = item.restore as { restoreMs: number; checksMs: number; rtoMs: number; restoredBytes: number };
		expect(section.restoreMs).toBeGreaterThan(0);
		expect(section.rtoMs).toBe(section.restoreMs + section.checksMs);
		expect(section.restoredBytes).toBeGreaterThan(1024 * 1024);
		expect(item.restoreTest).toBeUndefined();
		expect(item.summary).toMatch(new RegExp(`^Restore of backup ${manifest.backupId} into ${target} PASSED`));
		const rows = async () =>
			Number((await server.admin<{ n: string }>('SELECT count(*) AS n FROM sz1010', target))[0].n);
		expect(await rows()).toBe(50);

		// The restored database is now someone's: without the option it is refused, untouched.
		await server.admin("INSERT INTO sz1010 VALUES ('NEW', ' ', 999)", target);
		const refused = await restore({});
		expect(refused.error?.message).toMatch(
			new RegExp(`Database "${target}" already exists on ${server.host.replace(/\./g, '\\.')}:${server.port}`),
		);
		expect((refused.error as unknown as { description: string }).description).toMatch(/Replace Existing Database/);
		expect(await rows()).toBe(51);

		const replaced = await restore({ replaceExisting: true });
		expect(replaced.error).toBeUndefined();
		expect(replaced.jsonOf('TOTVS Restore')[0]).toMatchObject({ restore: { passed: true, replaced: true } });
		expect(await rows()).toBe(50);
	});

	it('a restore that fails its checks never replaces the existing target', async () => {
		await server.admin(`CREATE DATABASE ${target}`);
		await server.admin('CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (1)', target);
		const folder = pgRestoreStandIn({ leaveOut: ' public sz1010 ' });
		try {
			const result = await restore({ replaceExisting: true }, folder);
			expect(result.error?.message).toMatch(/^Restore of backup set .* failed: tables: /);
			expect((result.error as unknown as { description: string }).description).toBe(
				'The target database was not created or replaced. Restore another set, or investigate this one.',
			);
			expect(await server.admin('SELECT x FROM keep_me', target)).toEqual([{ x: 1 }]);
		} finally {
			rmSync(folder, { recursive: true, force: true });
		}
	});

	it('refuses the database the set was taken from, even with "replace", unless that is allowed too', async () => {
		// "localhost" on the restore side, 127.0.0.1 in the manifest: still the same server.
		const result = await restoreOnly(
			{ targetDatabase: database, replaceExisting: true },
			{ type: 'totvsPostgres', name: 'Restore server', data: { ...restoreCredential(), host: 'localhost' } },
		);
		expect(result.error?.message).toMatch(
			new RegExp(
				`"${database}" on localhost:${server.port} is the database backup set ${manifest.backupId} was taken from`,
			),
		);
		expect((result.error as unknown as { description: string }).description).toMatch(
			/Allow Replacing the Source Database/,
		);
		// The source is untouched.
		expect(Number((await server.admin<{ n: string }>('SELECT count(*) AS n FROM sz1010', database))[0].n)).toBe(50);
	});

	it('TOTVS Restore Test no longer restores for real: its old Restore operation points to TOTVS Restore', async () => {
		const result = await restoreTestOnly({ operation: 'restore', targetDatabase: target });
		expect(result.error?.message).toBe('TOTVS Restore Test has no operation "restore"');
		expect((result.error as unknown as { description: string }).description).toMatch(/use TOTVS Restore/);
		expect(await databasesLike(target)).toEqual([]);
	});
});
