/**
 * The recovery runbook (docs/recovery.md) run literally: its ```bash runbook blocks extracted
 * from the page and run with bash, one session, against a PostgreSQL set and a files chain
 * (full → incremental → incremental, with deletions, a file turned into a folder and a mode
 * change) made by the product and copied into a folder laid out as a destination holds them.
 * The restored database must have the manifest's row counts and the restored folder must equal
 * the source tree: if the page and the product drift apart, this fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBackup, type BackupResult } from '../../core/backup';
import { manifestOf } from '../../core/backup-set/manifest';
import { silentLogger } from '../../core/logger';
import { defaultDumpOptions, PostgresSource } from '../../core/sources/postgres';
import { createProtheusDatabase, dropDatabase } from '../../support/fixtures/protheus-db';
import {
	age,
	createProtheusTree,
	filesBackup,
	snapshotTree,
	type ProtheusTree,
	type TreeNode,
} from '../../support/fixtures/protheus-tree';
import { pgEnv } from '../../support/postgres';
import { sharedPostgres, uniqueName } from '../../support/shared-postgres';

const RUNBOOK = join(__dirname, '..', '..', 'docs', 'recovery.md');
const server = sharedPostgres();
let database: string;
let restoredDb: string;
let work: string;
let tree: ProtheusTree;
let dbSet: BackupResult;
let lastFiles: BackupResult;
let backupDir: string;

/** The blocks the runbook marks to be run, in page order. */
function runbookBlocks(markdown: string): string[] {
	return [...markdown.matchAll(/^```bash runbook\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

beforeAll(async () => {
	database = uniqueName('protheus_rb');
	restoredDb = uniqueName('restored_rb');
	await createProtheusDatabase(server, { name: database, scale: 50 });
	work = mkdtempSync(join(tmpdir(), 'totvs-runbook-'));
	const staging = join(work, 'staging');
	mkdirSync(staging);
	dbSet = await makeBackup(new PostgresSource(), {
		connection: {
			host: server.host,
			port: server.port,
			database,
			user: server.user,
			password: server.password,
			sslMode: 'disable',
			binFolder: server.binDir,
		},
		options: defaultDumpOptions,
		environment: 'p12',
		type: 'full',
		stagingFolder: staging,
		log: silentLogger,
	});
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 80, rpoBytes: 256 << 10, tables: 2 });
	const files = { folders: [tree.protheusData, tree.apo], protheusDefaults: false };
	await filesBackup(staging, 'full', files);
	const d = tree.protheusData;
	await age(join(d, 'system/sigamat.emp'), 0);
	writeFileSync(join(d, 'system/sigamat.emp'), 'alterado');
	unlinkSync(join(d, 'web/000/arquivo 1.htm'));
	chmodSync(join(d, 'system/sigacom.xnu'), 0o640);
	await filesBackup(staging, 'incremental', files);
	rmSync(join(d, 'profile/000'), { recursive: true });
	unlinkSync(join(d, 'system/sigafat.xnu'));
	mkdirSync(join(d, 'system/sigafat.xnu'));
	writeFileSync(join(d, 'system/sigafat.xnu/menu.xml'), '<menu/>\n');
	lastFiles = await filesBackup(staging, 'incremental', files);
	// What a destination holds: <environment>/<backupId>/, plus an unfinished upload to ignore.
	backupDir = join(work, 'destination-copy');
	cpSync(join(staging, 'p12'), join(backupDir, 'p12'), { recursive: true });
	mkdirSync(join(backupDir, 'p12', 'p12-29991231T000000Z-full-db'));
}, 300_000);
afterAll(async () => {
	await dropDatabase(server, database);
	await dropDatabase(server, restoredDb);
	rmSync(work, { recursive: true, force: true });
});

/** Type, size, content, link target and mode of every entry. */
const comparable = (snapshot: Map<string, TreeNode>) =>
	[...snapshot]
		.map(([path, n]) => ({ path, type: n.type, size: n.size, sha256: n.sha256, target: n.target, mode: n.mode }))
		.sort((a, b) => (a.path < b.path ? -1 : 1));

describe('docs/recovery.md run literally', () => {
	it('has the blocks the test runs, and no sealed-set step yet (a placeholder says where it goes)', () => {
		const text = readFileSync(RUNBOOK, 'utf8');
		expect(runbookBlocks(text).length).toBeGreaterThanOrEqual(7);
		expect(text).toMatch(/Sealed sets\./);
	});

	it('the pt-BR runbook runs exactly the same blocks', () => {
		const en = runbookBlocks(readFileSync(RUNBOOK, 'utf8'));
		const pt = runbookBlocks(readFileSync(join(__dirname, '..', '..', 'docs', 'pt-BR', 'recovery.md'), 'utf8'));
		expect(pt).toEqual(en);
	});

	it('restores the newest database set and files chain: row counts and tree equal the originals', async () => {
		const restoreDir = join(work, 'restored-tree');
		const script = runbookBlocks(readFileSync(RUNBOOK, 'utf8')).join('\n');
		const result = spawnSync('bash', ['-c', script], {
			env: {
				PATH: `${server.binDir}:${process.env.PATH}`,
				HOME: work,
				...pgEnv(server),
				BACKUP_DIR: backupDir,
				ENVIRONMENT: 'p12',
				RESTORE_DB: restoredDb,
				RESTORE_DIR: restoreDir,
			},
			encoding: 'utf8',
			timeout: 300_000,
		});
		if (result.status !== 0) console.error(result.stdout, result.stderr);
		expect(result.status).toBe(0);
		expect(result.stdout).toContain(`Database set: ${join(backupDir, 'p12', dbSet.manifest.backupId)}`);
		expect(result.stdout).toContain(`Every table of ${restoredDb} has the row count the manifest recorded`);
		expect(result.stdout).toContain(`Every file of ${lastFiles.manifest.backupId} restored`);

		// The database, counted here independently of the runbook's own check.
		const inventory = manifestOf(dbSet.manifest, 'postgres').inventory;
		const counted = [];
		for (const t of inventory.tables) {
			const [row] = await server.admin<{ n: string }>(
				`SELECT count(*) AS n FROM "${t.schema}"."${t.name}"`,
				restoredDb,
			);
			counted.push([t.schema, t.name, Number(row.n)]);
		}
		expect(counted).toEqual(inventory.tables.map((t) => [t.schema, t.name, t.rows]));
		const [encoding] = await server.admin<{ enc: string; coll: string }>(
			'SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS coll FROM pg_database WHERE datname = $1',
			'postgres',
			[restoredDb],
		);
		expect(encoding).toEqual({ enc: 'WIN1252', coll: 'C' });

		// The tree, as it is now in the source (the newest incremental's point).
		expect(comparable(await snapshotTree(join(restoreDir, 'protheus_data')))).toEqual(
			comparable(await snapshotTree(tree.protheusData)),
		);
		expect(comparable(await snapshotTree(join(restoreDir, 'apo')))).toEqual(comparable(await snapshotTree(tree.apo)));
	});
});
