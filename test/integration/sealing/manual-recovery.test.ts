/**
 * docs/sealing.md's "Recovery by hand" runs as written: the shell blocks between its
 * `<!-- recovery:begin -->` and `<!-- recovery:end -->` markers, in order, with the variables the
 * page tells the reader to set, against a sealed set made by TOTVS Dump (core makeBackup with the
 * keys a node would give). The restored database must hold every table and row the sealed
 * inventory records. The same for a Protheus file chain (`files-recovery` markers): a sealed full
 * and incremental extracted by hand must be the tree as of the incremental, deletions applied; the
 * pt-BR page must carry the same commands. Needs the age CLI, OpenSSL, jq and sha256sum
 * (scripts/setup.sh installs them); the files case also zstd and GNU tar.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBackup } from '../../../core/backup';
import { readSet } from '../../../core/backup-set/catalog';
import type { FilesInventory, PostgresInventory } from '../../../core/backup-set/manifest';
import { parseSetKeys, withSetKeys } from '../../../core/backup-set/set-keys';
import { silentLogger } from '../../../core/logger';
import { generateAgeIdentity } from '../../../core/sealing';
import { defaultDumpOptions, PostgresSource } from '../../../core/sources/postgres';
import { createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { age, createProtheusTree, filesBackup, snapshotTree } from '../../../support/fixtures/protheus-tree';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { credentialFor } from '../../../support/totvs-workflow';

const REPO = join(__dirname, '..', '..', '..');
const TOOLS = ['age', 'openssl', 'jq', 'sha256sum', 'base64'];
const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
const suite = missing.length ? describe.skip : describe;
if (missing.length) console.warn(`manual recovery: skipped: ${missing.join(', ')} not installed`);

/** The shell of the documented recovery: every ```sh block between the markers, in order. */
function documentedRecovery(markdown: string, marker = 'recovery'): string {
	const section = new RegExp(`<!-- ${marker}:begin -->([\\s\\S]*?)<!-- ${marker}:end -->`).exec(markdown);
	if (!section) throw new Error(`docs/sealing.md has no ${marker} markers`);
	const blocks = [...section[1].matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
	if (blocks.length < 3) throw new Error(`expected the three recovery blocks, found ${blocks.length}`);
	return blocks.join('\n');
}

const server = sharedPostgres();
let database: string;
let restored: string;
let work: string;

suite('recovery by hand of a sealed set, as docs/sealing.md shows it', () => {
	beforeAll(async () => {
		database = uniqueName('protheus_manual');
		restored = uniqueName('protheus_recovered');
		await createProtheusDatabase(server, { name: database, scale: 30 });
		work = mkdtempSync(join(tmpdir(), 'totvs-manual-'));
		mkdirSync(join(work, 'staging'));
	}, 300_000);
	afterAll(async () => {
		await dropDatabase(server, database);
		await dropDatabase(server, restored);
		rmSync(work, { recursive: true, force: true });
	});

	it('verifies the signature and hashes, reads the sealed inventory and restores with age | pg_restore', async () => {
		const identity = generateAgeIdentity();
		const signing = generateKeyPairSync('ed25519');
		const keyFile = join(work, 'key.txt');
		writeFileSync(keyFile, `# public key: ${identity.recipient}\n${identity.identity}\n`, { mode: 0o600 });
		const publicKey = join(work, 'signing-public.pem');
		writeFileSync(publicKey, signing.publicKey.export({ format: 'pem', type: 'spki' }).toString());
		const keys = parseSetKeys(
			{
				recipients: identity.recipient,
				signingKey: signing.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
			},
			{ encrypt: true, sign: true },
		);
		const connection = { ...credentialFor(server, database), sslMode: 'disable' } as never;
		const made = await withSetKeys(keys, () =>
			makeBackup(new PostgresSource(), {
				connection,
				options: defaultDumpOptions,
				environment: 'prod',
				type: 'full',
				stagingFolder: join(work, 'staging'),
				log: silentLogger,
			}),
		);

		const script = documentedRecovery(readFileSync(join(REPO, 'docs', 'sealing.md'), 'utf8'));
		const pg = credentialFor(server, 'postgres');
		const result = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
			cwd: work,
			encoding: 'utf8',
			env: {
				PATH: `${server.binDir}:${process.env.PATH}`,
				SET: made.folder,
				KEY: keyFile,
				PUBKEY: publicKey,
				DB: restored,
				PGHOST: pg.host,
				PGPORT: String(pg.port),
				PGUSER: pg.user,
				PGPASSWORD: pg.password,
				PGDATABASE: 'postgres',
			},
		});
		expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
		expect(result.stdout).toMatch(/Signature Verified Successfully/);
		expect(result.stdout).toMatch(/\.dump\.age: OK/);
		expect(result.stdout).toMatch(/"public\.sa1010 \d+"/);

		// The restored database holds what the sealed inventory recorded.
		const manifest = await withSetKeys(parseSetKeys({ identity: identity.identity }), () => readSet(made.folder));
		const inventory = manifest.inventory as PostgresInventory;
		for (const table of inventory.tables.filter((t) => !t.rowsEstimated)) {
			const [row] = await server.admin<{ n: string }>(
				`SELECT count(*) AS n FROM "${table.schema}"."${table.name}"`,
				restored,
			);
			expect([table.name, Number(row.n)]).toEqual([table.name, table.rows]);
		}
	}, 300_000);
});

const filesMissing = [
	...missing,
	...['zstd', 'tar', 'xargs'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0),
];
const filesSuite = filesMissing.length ? describe.skip : describe;
if (filesMissing.length) console.warn(`manual recovery of files: skipped: ${filesMissing.join(', ')} not installed`);

filesSuite('recovery by hand of a sealed Protheus file chain, as docs/sealing.md shows it', () => {
	let filesWork: string;
	beforeAll(() => {
		filesWork = mkdtempSync(join(tmpdir(), 'totvs-manual-files-'));
	});
	afterAll(() => rmSync(filesWork, { recursive: true, force: true }));

	it('the pt-BR page carries the same commands', () => {
		const en = documentedRecovery(readFileSync(join(REPO, 'docs', 'sealing.md'), 'utf8'), 'files-recovery');
		const pt = documentedRecovery(readFileSync(join(REPO, 'docs', 'pt-BR', 'sealing.md'), 'utf8'), 'files-recovery');
		expect(pt).toBe(en);
	});

	it('verifies, decrypts with age into tar, applies deletions and checks the tree against the sealed index', async () => {
		const identity = generateAgeIdentity();
		const signing = generateKeyPairSync('ed25519');
		const keyFile = join(filesWork, 'key.txt');
		writeFileSync(keyFile, `# public key: ${identity.recipient}\n${identity.identity}\n`, { mode: 0o600 });
		const publicKey = join(filesWork, 'signing-public.pem');
		writeFileSync(publicKey, signing.publicKey.export({ format: 'pem', type: 'spki' }).toString());
		const keys = parseSetKeys(
			{
				recipients: identity.recipient,
				identity: identity.identity,
				signingKey: signing.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
			},
			{ encrypt: true, sign: true, allowUnsigned: true },
		);
		const tree = await createProtheusTree(join(filesWork, 'totvs'), { smallFiles: 40, rpoBytes: 128 << 10, tables: 2 });
		const staging = join(filesWork, 'staging');
		mkdirSync(staging);
		const backup = (type: 'full' | 'incremental') =>
			withSetKeys(keys, () => filesBackup(staging, type, { appserverIni: tree.appserverIni, compression: 'zstd' }));
		const full = await backup('full');
		const changed = join(tree.protheusData, 'system', 'sigamat.emp');
		writeFileSync(changed, 'empresa alterada à mão\n');
		await age(changed, 0);
		rmSync(join(tree.protheusData, 'web', '000', 'arquivo 1.htm'));
		const incremental = await backup('incremental');
		expect(incremental.manifest.type).toBe('incremental');

		const target = join(filesWork, 'restore', 'protheus');
		const script = documentedRecovery(readFileSync(join(REPO, 'docs', 'sealing.md'), 'utf8'), 'files-recovery');
		const result = spawnSync('bash', ['-euo', 'pipefail', '-c', `SETS=("$FULL" "$INC")\n${script}`], {
			cwd: filesWork,
			encoding: 'utf8',
			env: {
				PATH: process.env.PATH,
				FULL: full.folder,
				INC: incremental.folder,
				KEY: keyFile,
				PUBKEY: publicKey,
				TARGET: target,
			},
		});
		expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
		expect(result.stdout.match(/Signature Verified Successfully/g)).toHaveLength(2);
		expect(result.stdout).toMatch(/files\.tar\.zst\.age: OK/);
		expect(result.stdout).toMatch(/every file matches the index/);

		const inventory = incremental.manifest.inventory as FilesInventory;
		const restored = await snapshotTree(target);
		const restoredFiles = [...restored].filter(([, node]) => node.type === 'file').map(([path]) => path);
		expect(restoredFiles.sort()).toEqual(
			inventory.entries
				.filter((e) => e.type === 'file')
				.map((e) => e.path)
				.sort(),
		);
		expect(readFileSync(join(target, 'protheus_data', 'system', 'sigamat.emp'), 'utf8')).toBe(
			'empresa alterada à mão\n',
		);
		expect(restoredFiles).not.toContain('protheus_data/web/000/arquivo 1.htm');
	}, 300_000);
});
