/**
 * TOTVS Dump -> TOTVS Verify inside n8n's real engine, against a real PostgreSQL holding a
 * Protheus-like database. Counts are compared with what the database itself reports.
 */
import { execFileSync } from 'node:child_process';
import {
	chmodSync,
	mkdtempSync,
	readFileSync,
	readdirSync,
	rmSync,
	statSync,
	writeFileSync,
	mkdirSync,
	existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSet as readAnySet } from '../../core/backup-set/catalog';
import type { INodeParameters } from 'n8n-workflow';
import { manifestOf } from '../../core/backup-set/manifest';
import {
	createProtheusDatabase,
	describeProtheusDatabase,
	dropDatabase,
	type ProtheusDatabaseDescription,
} from '../../support/fixtures/protheus-db';
import { createRole, dropRole } from '../../support/postgres';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';
import { mountSmallDisk } from '../../support/small-disk';
import { credentialFor, dumpVerifyWorkflow, runTotvsWorkflow } from '../../support/totvs-workflow';

const server = sharedPostgres();
const BACKUP_PASSWORD = 'S3nha:Forte\\com@simbolos';
let database: string;
let backupUser: string;
let fixture: ProtheusDatabaseDescription;
let staging: string;
/** A real small disk needs root (mount -t tmpfs): probed once at collection time, so a test that cannot run is skipped with the reason, never passed. */
const noSmallDisk: string | undefined = (() => {
	const probe = mountSmallDisk(64 * 1024);
	if (typeof probe === 'string') return probe;
	probe.unmount();
	return undefined;
})();
const withSmallDisk = (name: string, fn: () => Promise<void>) =>
	noSmallDisk ? it.skip(`skipped: ${noSmallDisk}: ${name}`, fn) : it(name, fn);
/** The probe said a tmpfs mounts here: failing now is a failure, not a skip. */
function smallDisk(bytes: number) {
	const disk = mountSmallDisk(bytes);
	if (typeof disk === 'string') throw new Error(disk);
	return disk;
}
const readSet = async (folder: string) => manifestOf(await readAnySet(folder), 'postgres');

beforeAll(async () => {
	database = uniqueName('protheus');
	backupUser = uniqueName('backup');
	fixture = await createProtheusDatabase(server, { name: database, scale: 300 });
	// A least-privilege backup user, as a site should use (PostgreSQL 14+ role).
	await createRole(server, backupUser, BACKUP_PASSWORD, { memberOf: ['pg_read_all_data'] });
});

afterAll(async () => {
	await dropDatabase(server, database);
	await dropRole(server, backupUser);
});

beforeEach(() => {
	staging = mkdtempSync(join(tmpdir(), 'totvs-staging-'));
});
afterEach(() => rmSync(staging, { recursive: true, force: true }));

const credential = (overrides: Record<string, string | number> = {}) => ({
	...credentialFor(server, database, backupUser, BACKUP_PASSWORD),
	...overrides,
});

function listTree(folder: string): string[] {
	if (!existsSync(folder)) return [];
	return readdirSync(folder, { recursive: true }).map(String).sort();
}

/** A pg_dump stand-in folder that records argv and environment names, then runs the real one. */
function spyClientFolder(delaySeconds = 0): {
	folder: string;
	argv: () => string[];
	envNames: () => string[];
	passFileMode: () => string;
} {
	const folder = mkdtempSync(join(tmpdir(), 'totvs-spy-'));
	writeFileSync(
		join(folder, 'pg_dump'),
		`#!/bin/sh
case "$1" in --version) exec "${server.binDir}/pg_dump" --version;; esac
printf '%s\\n' "$@" > "${folder}/argv"
env | cut -d= -f1 > "${folder}/env"
stat -c %a "$PGPASSFILE" > "${folder}/passfile-mode"
sleep ${delaySeconds}
exec "${server.binDir}/pg_dump" "$@"
`,
	);
	chmodSync(join(folder, 'pg_dump'), 0o755);
	execFileSync('ln', ['-s', join(server.binDir, 'pg_restore'), join(folder, 'pg_restore')]);
	const read = (name: string) => readFileSync(join(folder, name), 'utf8').trim().split('\n');
	return {
		folder,
		argv: () => read('argv'),
		envNames: () => read('env'),
		passFileMode: () => read('passfile-mode')[0],
	};
}

/** Rows of one table inside a dump, counted from the COPY data pg_restore prints. */
function rowsInDump(archive: string, table: string): number {
	const sql = execFileSync(
		join(server.binDir, 'pg_restore'),
		['--data-only', `--table=${table}`, '--file=-', archive],
		{
			maxBuffer: 256 * 1024 * 1024,
		},
	).toString('latin1');
	const copy = sql.slice(sql.indexOf('COPY '));
	return copy
		.slice(copy.indexOf('\n') + 1, copy.indexOf('\n\\.'))
		.split('\n')
		.filter(Boolean).length;
}

describe('Dump -> Verify in the n8n engine', () => {
	it('emits one verified item whose manifest describes the database exactly', async () => {
		const spy = spyClientFolder();
		const result = await runTotvsWorkflow(
			dumpVerifyWorkflow({ dumpParameters: { stagingFolder: staging } }),
			credential({ binFolder: spy.folder }),
		);
		expect(result.error).toBeUndefined();
		const [item, ...rest] = result.jsonOf('TOTVS Verify');
		expect(rest).toHaveLength(0);
		expect(item).toMatchObject({
			status: 'ok',
			environment: 'prod',
			component: 'database',
			engine: 'postgres',
			type: 'full',
			database,
		});
		expect(result.outputOf('TOTVS Verify')[0].pairedItem).toEqual({ item: 0 });
		expect(item.backupId).toMatch(/^prod-\d{8}T\d{6}Z-full-db$/);
		expect(item.location).toBe(join(staging, 'prod', item.backupId as string));
		expect(item.summary).toMatch(/verified: all 3 checks passed/);
		const verification = item.verification as { ok: boolean; checks: Array<{ name: string; ok: boolean }> };
		expect(verification.ok).toBe(true);
		expect(verification.checks.map((c) => [c.name, c.ok])).toEqual([
			['manifest', true],
			['artifacts', true],
			['archive', true],
		]);

		const manifest = await readSet(item.location as string);
		const live = await describeProtheusDatabase(server, database);
		// Row counts and max(R_E_C_N_O_) equal the database's, table by table.
		const inventoried = Object.fromEntries(manifest.inventory.tables.map((t) => [t.name, t]));
		expect(Object.keys(inventoried).sort()).toEqual(live.tables.map((t) => t.name).sort());
		for (const table of live.tables) {
			expect({
				table: table.name,
				rows: inventoried[table.name].rows,
				maxRecno: inventoried[table.name].maxRecno,
			}).toEqual({
				table: table.name,
				rows: table.rows,
				maxRecno: table.maxRecno,
			});
			expect(inventoried[table.name].rowsEstimated).toBe(false);
		}
		expect(item.rowCount).toBe(live.tables.reduce((sum, t) => sum + t.rows, 0));
		expect(item.tableCount).toBe(live.tables.length);

		expect(manifest.source).toMatchObject({
			database,
			encoding: 'WIN1252',
			collation: 'C',
			ctype: 'C',
			user: backupUser,
		});
		expect(manifest.source.extensions.map((e) => e.name)).toEqual(expect.arrayContaining(live.extensions));
		expect(manifest.inventory.snapshotConsistent).toBe(true);
		expect(manifest.inventory.counts.unqIndexes).toBe(live.uniqueIndexes.length);
		expect(manifest.inventory.counts.triggers).toBe(live.triggers.length);
		expect(manifest.inventory.dbaccess.topTables.sort()).toEqual(
			live.tables
				.map((t) => t.name)
				.filter((n) => n.startsWith('top_'))
				.sort(),
		);
		expect(manifest.inventory.dbaccess.sysTables.length).toBeGreaterThanOrEqual(2);
		expect(manifest.inventory.dbaccess.topSpProcedures.map((p) => [p.name.toLowerCase(), p.exists])).toEqual(
			live.procedures.map((p) => [p.name.toLowerCase(), p.exists]).sort(),
		);
		const sa1 = manifest.inventory.fingerprints.find((f) => f.table === 'sa1010');
		expect(sa1).toMatchObject({ accentedColumn: 'a1_nome', rows: Math.min(1000, inventoried.sa1010.rows) });
		expect(sa1?.md5).toMatch(/^[0-9a-f]{32}$/);
		const newest = Object.fromEntries(manifest.inventory.businessDates.map((d) => [d.column, d.newest]));
		expect(newest).toMatchObject({
			e1_emissao: live.newest.e1_emissao,
			f2_emissao: live.newest.f2_emissao,
			ct2_data: live.newest.ct2_data,
		});

		// The artifact on disk is the one the manifest describes, and pg_restore reads it.
		const dump = manifest.artifacts[0];
		expect(statSync(join(item.location as string, dump.path)).size).toBe(dump.bytes);
		expect(rowsInDump(join(item.location as string, dump.path), 'sa1010')).toBe(inventoried.sa1010.rows);

		// Secrets: never in argv, never in the environment as PGPASSWORD, never in logs or the manifest.
		expect(spy.argv().join(' ')).not.toContain(BACKUP_PASSWORD);
		expect(spy.argv().some((a) => a.startsWith('--snapshot='))).toBe(true);
		expect(spy.envNames()).not.toContain('PGPASSWORD');
		expect(spy.envNames()).toContain('PGPASSFILE');
		expect(spy.passFileMode()).toBe('600');
		expect(result.logs.join('\n')).not.toContain(BACKUP_PASSWORD);
		expect(readFileSync(manifestPathOf(item), 'utf8')).not.toContain(BACKUP_PASSWORD);
		expect(result.logs.some((l) => /Pre-flight passed/.test(l))).toBe(true);
		rmSync(spy.folder, { recursive: true, force: true });
	});

	it('counts exactly the rows in the dump while the database keeps changing (one snapshot)', async () => {
		const admin = await server.connect(database);
		await admin.query("CREATE TABLE zz1010 (r_e_c_n_o_ serial PRIMARY KEY, d_e_l_e_t_ char(1) DEFAULT ' ')");
		await admin.query(`GRANT SELECT ON zz1010 TO ${backupUser}`);
		// pg_dump starts 2 s late while rows keep arriving: without the shared snapshot the
		// inventory (taken at once) and the dump (taken later) would disagree.
		const spy = spyClientFolder(2);
		let writing = true;
		const writer = (async () => {
			while (writing) {
				await admin.query('INSERT INTO zz1010 DEFAULT VALUES');
				await new Promise((r) => setTimeout(r, 5));
			}
		})();
		try {
			const result = await runTotvsWorkflow(
				dumpVerifyWorkflow({ dumpParameters: { stagingFolder: staging }, withVerify: false }),
				credential({ binFolder: spy.folder }),
			);
			writing = false;
			await writer;
			expect(result.error).toBeUndefined();
			const item = result.jsonOf('TOTVS Dump')[0];
			const manifest = await readSet(item.location as string);
			const counted = manifest.inventory.tables.find((t) => t.name === 'zz1010')!.rows;
			const finalRows = Number((await admin.query('SELECT count(*) FROM zz1010')).rows[0].count);
			expect(finalRows).toBeGreaterThan(counted); // rows did arrive during the dump
			expect(rowsInDump(join(item.location as string, manifest.artifacts[0].path), 'zz1010')).toBe(counted);
		} finally {
			writing = false;
			await writer;
			await admin.query('DROP TABLE zz1010');
			await admin.end();
			rmSync(spy.folder, { recursive: true, force: true });
		}
	});

	it('makes a directory-format dump with parallel jobs that verifies', async () => {
		const result = await runTotvsWorkflow(
			dumpVerifyWorkflow({
				dumpParameters: { stagingFolder: staging, options: { format: 'directory', jobs: 2, compressionLevel: 1 } },
			}),
			credential(),
		);
		expect(result.error).toBeUndefined();
		const item = result.jsonOf('TOTVS Verify')[0];
		expect(item.status).toBe('ok');
		const manifest = await readSet(item.location as string);
		expect(manifest.options).toMatchObject({ format: 'directory', jobs: 2 });
		expect(manifest.artifacts.length).toBeGreaterThan(10);
		expect(
			manifest.artifacts.every((a) => a.kind === 'pg_dump-directory' && a.path.startsWith(`${database}.dir/`)),
		).toBe(true);
		expect(manifest.artifacts.map((a) => a.path)).toContain(`${database}.dir/toc.dat`);
	});

	it('honours table filters, and the inventory matches exactly what was dumped', async () => {
		const result = await runTotvsWorkflow(
			dumpVerifyWorkflow({
				dumpParameters: { stagingFolder: staging, options: { includeTables: 'sa*, se1010', excludeTables: 'sa2*' } },
			}),
			credential(),
		);
		expect(result.error).toBeUndefined();
		const item = result.jsonOf('TOTVS Verify')[0];
		expect(item.status).toBe('ok');
		const manifest = await readSet(item.location as string);
		const expected = fixture.tables
			.map((t) => t.name)
			.filter((n) => (/^sa/.test(n) || n === 'se1010') && !/^sa2/.test(n));
		expect(manifest.inventory.tables.map((t) => t.name).sort()).toEqual(expected.sort());
	});

	it('marks row counts of tables above the exact-count limit as estimated', async () => {
		const result = await runTotvsWorkflow(
			dumpVerifyWorkflow({
				dumpParameters: { stagingFolder: staging, options: { exactCountLimitMb: 0.01 } },
				withVerify: false,
			}),
			credential(),
		);
		expect(result.error).toBeUndefined();
		const manifest = await readSet(result.jsonOf('TOTVS Dump')[0].location as string);
		const big = manifest.inventory.tables.filter((t) => t.bytes > 0.01 * 1024 * 1024);
		expect(big.length).toBeGreaterThan(0);
		expect(big.every((t) => t.rowsEstimated)).toBe(true);
		expect(manifest.inventory.tables.filter((t) => t.bytes <= 0.01 * 1024 * 1024).every((t) => !t.rowsEstimated)).toBe(
			true,
		);
	});
});

const manifestPathOf = (item: Record<string, unknown>) => item.manifestPath as string;

/** Runs the workflow expecting TOTVS Dump to fail; checks no set was reported or left behind. */
async function expectDumpFailure(
	credentialData: ReturnType<typeof credential>,
	dumpParameters: INodeParameters,
	folderToWatch = staging,
) {
	const before = listTree(folderToWatch);
	const result = await runTotvsWorkflow(dumpVerifyWorkflow({ dumpParameters }), credentialData);
	expect(result.status).toBe('error');
	expect(result.error).toMatchObject({ name: 'NodeOperationError', node: { name: 'TOTVS Dump' } });
	expect(Object.keys(result.runData)).not.toContain('TOTVS Verify');
	expect(listTree(folderToWatch)).toEqual(before.length ? before : expect.arrayContaining(before));
	expect(JSON.stringify(result.logs)).not.toContain(BACKUP_PASSWORD);
	return result.error as unknown as { message: string; description: string };
}

describe('bad input: a clear error, no set reported, nothing lost', () => {
	let earlierSet: string;
	beforeEach(() => {
		// Something the user already had in the staging folder must survive every failure.
		earlierSet = join(staging, 'prod', 'prod-20200101T000000Z-full-db');
		mkdirSync(earlierSet, { recursive: true });
		writeFileSync(join(earlierSet, 'keep.me'), 'earlier backup');
	});
	afterEach(() => expect(readFileSync(join(earlierSet, 'keep.me'), 'utf8')).toBe('earlier backup'));

	it('wrong password', async () => {
		const error = await expectDumpFailure(credential({ password: 'wrong' }), { stagingFolder: staging });
		expect(error.message).toMatch(new RegExp(`refused user "${backupUser}"`));
		expect(error.description).toMatch(/Check the user and password/);
		expect(error.message).not.toContain('wrong');
	});

	it('unreachable host', async () => {
		const error = await expectDumpFailure(credential({ port: 1 }), { stagingFolder: staging });
		expect(error.message).toMatch(/Cannot reach PostgreSQL at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
		expect(error.description).toMatch(/Check host and port/);
	});

	it('missing database', async () => {
		const error = await expectDumpFailure(credential({ database: 'no_such_db' }), { stagingFolder: staging });
		expect(error.message).toMatch(/Database "no_such_db" does not exist/);
	});

	it('pg_dump older than the server (a stand-in reporting version 13: Debian ships only one client)', async () => {
		const old = mkdtempSync(join(tmpdir(), 'totvs-oldpg-'));
		for (const tool of ['pg_dump', 'pg_restore']) {
			writeFileSync(join(old, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) 13.4"\n`);
			chmodSync(join(old, tool), 0o755);
		}
		try {
			const error = await expectDumpFailure(credential({ binFolder: old }), { stagingFolder: staging });
			expect(error.message).toMatch(/pg_dump 13\.4 .* is older than the PostgreSQL 1\d\.\d+ server/);
			expect(error.description).toMatch(/Install the PostgreSQL 1\d client tools or newer/);
		} finally {
			rmSync(old, { recursive: true, force: true });
		}
	});

	it('pg_dump not found in the configured folder', async () => {
		const error = await expectDumpFailure(credential({ binFolder: '/nonexistent/bin' }), { stagingFolder: staging });
		expect(error.message).toMatch(/pg_dump was not found in \/nonexistent\/bin/);
	});

	it('missing staging folder: not created (an unmounted share must not fill the local disk)', async () => {
		const missing = join(staging, 'not-mounted');
		const error = await expectDumpFailure(credential(), { stagingFolder: missing });
		expect(error.message).toMatch(/Staging folder .*not-mounted does not exist/);
		expect(existsSync(missing)).toBe(false);
	});

	withSmallDisk('read-only staging folder', async () => {
		const readOnly = smallDisk(1024 * 1024);
		try {
			execFileSync('mount', ['-o', 'remount,ro', readOnly.path]);
			const error = await expectDumpFailure(credential(), { stagingFolder: readOnly.path }, readOnly.path);
			expect(error.message).toMatch(/Cannot write to staging folder .* \(EROFS\)/);
		} finally {
			readOnly.unmount();
		}
	});

	it('user without read permission on a table', async () => {
		const limited = uniqueName('limited');
		await createRole(server, limited, BACKUP_PASSWORD);
		await server.admin(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${limited}`, database);
		await server.admin(`REVOKE SELECT ON sa1010 FROM ${limited}`, database);
		try {
			const error = await expectDumpFailure(credential({ user: limited }), { stagingFolder: staging });
			expect(error.message).toMatch(/cannot read .*public\.sa1010/);
			expect(error.description).toMatch(/pg_read_all_data/);
		} finally {
			await server.admin(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${limited}`, database);
			await server.admin(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${limited}`, database);
			await dropRole(server, limited);
		}
	});

	describe('full disk (real 1 MiB tmpfs)', () => {
		let disk: ReturnType<typeof smallDisk>;
		beforeEach(() => {
			if (!noSmallDisk) disk = smallDisk(1024 * 1024);
		});
		afterEach(() => !noSmallDisk && disk.unmount());

		withSmallDisk('pre-flight refuses when the dump clearly cannot fit; nothing is written', async () => {
			const error = await expectDumpFailure(
				credential(),
				{ stagingFolder: disk.path, options: { compression: 'none' } },
				disk.path,
			);
			expect(error.message).toMatch(/has .* free; the dump is estimated at/);
			expect(readdirSync(disk.path)).toEqual([]);
		});

		withSmallDisk('ENOSPC during the dump: DISK_FULL, the unfinished set removed, earlier files kept', async () => {
			mkdirSync(join(disk.path, 'prod', 'earlier'), { recursive: true });
			writeFileSync(join(disk.path, 'prod', 'earlier', 'keep.me'), 'x');
			const error = await expectDumpFailure(
				credential(),
				{ stagingFolder: disk.path, options: { compression: 'none', checkFreeSpace: false } },
				disk.path,
			);
			expect(error.message).toMatch(/No space left in staging folder/);
			expect(error.description).toMatch(/unfinished backup set was removed/);
			expect(readdirSync(join(disk.path, 'prod'))).toEqual(['earlier']);
		});
	});

	it('Continue On Fail turns the error into a failed item that Verify passes through untouched', async () => {
		const result = await runTotvsWorkflow(
			dumpVerifyWorkflow({ dumpParameters: { stagingFolder: staging }, continueOnFail: true }),
			credential({ password: 'wrong' }),
		);
		expect(result.error).toBeUndefined();
		const [dumped] = result.jsonOf('TOTVS Dump');
		const [verified] = result.jsonOf('TOTVS Verify');
		expect(dumped).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/refused user/) } });
		expect(dumped.summary).toMatch(/^TOTVS Dump FAILED: PostgreSQL at .* refused user/);
		expect(verified).toEqual(dumped);
		expect(listTree(join(staging, 'prod'))).toEqual([
			'prod-20200101T000000Z-full-db',
			'prod-20200101T000000Z-full-db/keep.me',
		]);
	});
});

describe('Verify catches damaged sets and names what is wrong', () => {
	let setFolder: string;
	let manifest: ReturnType<typeof manifestOf<'postgres'>>;
	beforeEach(async () => {
		const result = await runTotvsWorkflow(
			dumpVerifyWorkflow({ dumpParameters: { stagingFolder: staging }, withVerify: false }),
			credential(),
		);
		setFolder = result.jsonOf('TOTVS Dump')[0].location as string;
		manifest = await readSet(setFolder);
	});

	function verifyOnly(continueOnFail = false) {
		return runTotvsWorkflow(
			{
				nodes: [
					{ name: 'Start', type: 'n8n-nodes-base.manualTrigger' },
					{
						name: 'TOTVS Verify',
						type: 'n8n-nodes-totvs-backup.totvsVerify',
						parameters: { setFolder },
						continueOnFail,
					},
				],
				connections: { Start: { main: [[{ node: 'TOTVS Verify', type: 'main', index: 0 }]] } },
			},
			credential(),
		);
	}

	it('one flipped byte in the dump: fails and names the artifact', async () => {
		const dumpPath = join(setFolder, manifest.artifacts[0].path);
		const bytes = readFileSync(dumpPath);
		bytes[Math.floor(bytes.length / 2)] ^= 0x01;
		writeFileSync(dumpPath, bytes);
		const result = await verifyOnly();
		expect(result.error).toMatchObject({ name: 'NodeOperationError' });
		expect(result.error?.message).toMatch(
			new RegExp(`failed verification: artifacts: ${manifest.artifacts[0].path}: SHA-256 .* \\(content altered\\)`),
		);
		expect((result.error as unknown as { description: string }).description).toMatch(/Make a new backup/);
		// Nothing deleted: the damaged set is kept for investigation.
		expect(existsSync(dumpPath)).toBe(true);

		const soft = await verifyOnly(true);
		const [item] = soft.jsonOf('TOTVS Verify');
		expect(item.status).toBe('failed');
		expect(item.summary).toMatch(/FAILED verification \(1 of 3 checks\)/);
		expect(
			(item.verification as { checks: Array<{ name: string; ok: boolean }> }).checks.map((c) => [c.name, c.ok]),
		).toEqual([
			['manifest', true],
			['artifacts', false],
			['archive', true],
		]);
	});

	it('a truncated dump: size mismatch and pg_restore cannot read it', async () => {
		const dumpPath = join(setFolder, manifest.artifacts[0].path);
		execFileSync('truncate', ['-s', String(Math.floor(manifest.artifacts[0].bytes / 3)), dumpPath]);
		const [item] = (await verifyOnly(true)).jsonOf('TOTVS Verify');
		const checks = (item.verification as { checks: Array<{ name: string; ok: boolean; message: string }> }).checks;
		expect(checks.find((c) => c.name === 'artifacts')?.message).toMatch(/truncated or altered/);
		expect(checks.find((c) => c.name === 'archive')?.ok).toBe(false);
	});

	it('a truncated manifest: names the manifest and says why', async () => {
		const text = readFileSync(join(setFolder, 'manifest.json'), 'utf8');
		writeFileSync(join(setFolder, 'manifest.json'), text.slice(0, 200));
		const result = await verifyOnly();
		expect(result.error?.message).toMatch(/manifest: Manifest .*manifest\.json is invalid: it is not valid JSON/);
	});

	it('an edited manifest: names the field', async () => {
		const edited = JSON.parse(readFileSync(join(setFolder, 'manifest.json'), 'utf8'));
		edited.inventory.tables[0].rows = 'many';
		writeFileSync(join(setFolder, 'manifest.json'), JSON.stringify(edited));
		const result = await verifyOnly();
		expect(result.error?.message).toMatch(/field inventory\.tables\[0\]\.rows: expected an integer/);
	});

	it('a manifest whose recorded hash was edited: the artifact no longer matches', async () => {
		const edited = JSON.parse(readFileSync(join(setFolder, 'manifest.json'), 'utf8'));
		edited.artifacts[0].sha256 = '0'.repeat(64);
		writeFileSync(join(setFolder, 'manifest.json'), JSON.stringify(edited));
		const result = await verifyOnly();
		expect(result.error?.message).toMatch(/artifacts: .*SHA-256 .*expected 0000000000000000/);
	});

	it('a missing set folder', async () => {
		rmSync(setFolder, { recursive: true });
		const result = await verifyOnly();
		expect(result.error?.message).toMatch(/No complete backup set at .*manifest\.json is missing/);
	});
});
