/**
 * Sealed PostgreSQL sets end to end on the real server, through the nodes inside n8n's engine:
 * TOTVS Dump with "Encrypt and Sign" (the backup host's credential holds public keys and the
 * signing key only), TOTVS Verify without and with the identity, TOTVS Upload to a folder and
 * Download with signature checks, and the restore test (core) decrypting on the fly. Each bad
 * input of issue 12 is one case: wrong identity, no identity, a flipped ciphertext byte, a
 * manifest edited with its hashes recomputed, a set signed by another key, -Fd refused.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import type { Manifest } from '../../../core/backup-set/manifest';
import { parseSetKeys, withSetKeys } from '../../../core/backup-set/set-keys';
import { silentLogger } from '../../../core/logger';
import { defaultRestoreOptions } from '../../../core/sources/postgres/restore/pg-restore';
import { runRestoreTest } from '../../../core/sources/postgres/restore/set-restore';
import { generateAgeIdentity } from '../../../core/sealing';
import { TotvsBackupKeys } from '../../../credentials/TotvsBackupKeys.credentials';
import { TotvsPostgres } from '../../../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../../../nodes/TotvsDump/TotvsDump.node';
import { TotvsRestoreTest } from '../../../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import { TotvsUpload } from '../../../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsVerify } from '../../../nodes/TotvsVerify/TotvsVerify.node';
import { ACCENTED_CUSTOMER_NAMES, createProtheusDatabase, dropDatabase } from '../../../support/fixtures/protheus-db';
import { MANUAL_TRIGGER_TYPE, PACKAGE_NAME, packageNodeTypes, runWorkflow } from '../../../support/n8n-engine';
import { sharedPostgres, uniqueName } from '../../../support/shared-postgres';
import { credentialFor, DUMP_TYPE, UPLOAD_TYPE, VERIFY_TYPE } from '../../../support/totvs-workflow';

const server = sharedPostgres();
const owner = generateAgeIdentity();
const escrow = generateAgeIdentity();
const stranger = generateAgeIdentity();
const pemOf = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingKey = pemOf();
const signingPublic = parseSetKeys({ signingKey }).signingKey!.publicKey;
const otherSigningKey = pemOf();

/** The backup host: public keys (the restore key and an escrow key) and the signing key. */
const backupHostKeys = {
	recipients: `${owner.recipient}\n# escrow, kept in the safe\n${escrow.recipient}`,
	signingKey,
};
/** Where restores happen: the identity and the trusted public key; no signing key. */
const restoreHostKeys = { identity: owner.identity, trustedKeys: signingPublic.pem };
/** A verifying host with public keys only. */
const publicOnlyKeys = { trustedKeys: signingPublic.pem };

let database: string;
let staging: string;
let folder: string;

function run(
	nodes: Array<{ name: string; type: string; parameters: INodeParameters; keys?: boolean; continueOnFail?: boolean }>,
	keys = {},
) {
	const chain = [{ name: 'Start', type: MANUAL_TRIGGER_TYPE, parameters: {} }, ...nodes];
	return runWorkflow(
		{
			nodes: chain.map((n) => ({
				name: n.name,
				type: n.type,
				parameters: n.parameters,
				...('continueOnFail' in n ? { continueOnFail: n.continueOnFail } : {}),
				credentials: {
					totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' },
					...('keys' in n && n.keys ? { totvsBackupKeys: { id: 'keys', name: 'Backup keys' } } : {}),
				},
			})),
			connections: Object.fromEntries(
				chain.slice(0, -1).map((n, i) => [n.name, { main: [[{ node: chain[i + 1].name, type: 'main', index: 0 }]] }]),
			),
		},
		{
			nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsUpload(), new TotvsRestoreTest()]),
			credentialTypes: [new TotvsPostgres(), new TotvsBackupKeys()],
			credentials: {
				pg: { type: 'totvsPostgres', name: 'Protheus PostgreSQL', data: credentialFor(server, database) },
				keys: { type: 'totvsBackupKeys', name: 'Backup keys', data: keys },
			},
		},
	);
}

const verifyNode = (parameters: INodeParameters = {}, keys = true) => ({
	name: 'TOTVS Verify',
	type: VERIFY_TYPE,
	parameters: { setFolder: folder, useBackupKeys: keys, ...parameters },
	keys,
});

interface Check {
	name: string;
	ok: boolean;
	notRun?: boolean;
	message: string;
}
const checksOf = (item: IDataObject) => (item.verification as { ok: boolean; checks: Check[] }).checks;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
	);
}

beforeAll(async () => {
	database = uniqueName('protheus_sealed');
	await createProtheusDatabase(server, { name: database, scale: 40 });
	staging = mkdtempSync(join(tmpdir(), 'totvs-sealed-'));
	const dumped = await run(
		[
			{
				name: 'TOTVS Dump',
				type: DUMP_TYPE,
				parameters: {
					environment: 'prod',
					stagingFolder: staging,
					encryptAndSign: true,
					options: { compression: 'none' },
				},
				keys: true,
			},
		],
		backupHostKeys,
	);
	expect(dumped.error).toBeUndefined();
	folder = dumped.jsonOf('TOTVS Dump')[0].location as string;
}, 300_000);

afterAll(async () => {
	await dropDatabase(server, database);
	rmSync(staging, { recursive: true, force: true });
});

describe('a sealed PostgreSQL set', () => {
	it('holds only age files, a public manifest and its signature; no customer name anywhere; private modes', () => {
		expect(readdirSync(folder).sort()).toEqual([
			'manifest.json',
			'manifest.json.sig',
			'manifest.sealed.json.age',
			`${database}.dump.age`,
		]);
		for (const file of filesUnder(folder)) {
			const content = readFileSync(file);
			for (const name of ACCENTED_CUSTOMER_NAMES.slice(0, 5))
				expect([
					file,
					content.includes(Buffer.from(name, 'utf8')),
					content.includes(Buffer.from(name, 'latin1')),
				]).toEqual([file, false, false]);
			if (file.endsWith('.age')) expect(content.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
			expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
		}
		expect((statSync(folder).mode & 0o777).toString(8)).toBe('700');
		const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Manifest;
		expect(manifest.inventory).toBeNull();
		expect(manifest.encryption).toEqual({
			method: 'age',
			recipients: [{ fingerprint: owner.fingerprint }, { fingerprint: escrow.fingerprint }],
			sealedPart: 'manifest.sealed.json.age',
		});
	});

	it('Verify with public keys only checks the ciphertext and signature, and says the content needs the identity', async () => {
		const verified = await run([verifyNode()], publicOnlyKeys);
		expect(verified.error).toBeUndefined();
		const [item] = verified.jsonOf('TOTVS Verify');
		const checks = checksOf(item);
		expect(checks.map((c) => [c.name, c.ok || !!c.notRun])).toEqual([
			['manifest', true],
			['artifacts', true],
			['archive', true],
		]);
		expect(checks[2]).toMatchObject({ notRun: true, message: expect.stringContaining(owner.fingerprint) });
	});

	it('Verify with the identity decrypts every artifact and reads the dump (the escrow key opens it too)', async () => {
		for (const identity of [owner.identity, escrow.identity]) {
			const verified = await run([verifyNode()], { ...restoreHostKeys, identity });
			expect(verified.error).toBeUndefined();
			const checks = checksOf(verified.jsonOf('TOTVS Verify')[0]);
			expect(checks.map((c) => [c.name, c.ok])).toEqual([
				['manifest', true],
				['artifacts', true],
				['decrypted', true],
				['archive', true],
			]);
		}
	});

	it('the restore test decrypts on the fly into pg_restore and passes; no identity or the wrong one names the fingerprints', async () => {
		const restore = (keys: Parameters<typeof parseSetKeys>[0]) =>
			withSetKeys(parseSetKeys(keys), () =>
				runRestoreTest({
					folder,
					connection: { ...credentialFor(server, 'postgres'), sslMode: 'disable' } as never,
					restore: defaultRestoreOptions,
					freshnessDays: 0,
					keepOnFailure: false,
					log: silentLogger,
				}),
			);
		const good = await restore(restoreHostKeys);
		expect(good.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(good.passed).toBe(true);

		const wrong = await restore({ ...restoreHostKeys, identity: stranger.identity });
		expect(wrong.passed).toBe(false);
		expect(wrong.checks[0]).toMatchObject({ name: 'manifest', ok: false });
		expect(wrong.checks[0].message).toContain(stranger.fingerprint);

		const scratchBefore = await server.admin<{ datname: string }>(
			"SELECT datname FROM pg_database WHERE datname LIKE 'totvs_rt_%'",
		);
		await expect(restore(publicOnlyKeys)).rejects.toThrow(
			new RegExp(`no identity .* sealed for the key\\(s\\) ${owner.fingerprint}, ${escrow.fingerprint}`),
		);
		// Refused before any scratch database was made.
		expect(
			await server.admin<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'totvs_rt_%'"),
		).toEqual(scratchBefore);
	}, 300_000);

	it('TOTVS Restore Test with Use Backup Keys restores the sealed set; another signing key is refused, naming set and key', async () => {
		const restoreTest = { name: 'TOTVS Restore Test', type: `${PACKAGE_NAME}.totvsRestoreTest`, keys: true };
		const passed = await run(
			[{ ...restoreTest, parameters: { setFolder: folder, useBackupKeys: true, options: { freshnessDays: 0 } } }],
			restoreHostKeys,
		);
		expect(passed.error).toBeUndefined();
		expect(passed.jsonOf('TOTVS Restore Test')[0].restoreTest).toMatchObject({ passed: true });
		const foreign = await run(
			[
				{
					...restoreTest,
					parameters: { setFolder: folder, useBackupKeys: true, options: { freshnessDays: 0 } },
					continueOnFail: true,
				},
			],
			{ ...restoreHostKeys, trustedKeys: parseSetKeys({ signingKey: otherSigningKey }).signingKey!.publicKey.pem },
		);
		const item = foreign.jsonOf('TOTVS Restore Test')[0];
		expect(item.restoreTest).toMatchObject({ passed: false });
		expect(JSON.stringify(item)).toMatch(
			new RegExp(
				`Backup set ${folder.split('/').pop()} .* is signed by key ${signingPublic.fingerprint}, which is not a trusted key`,
			),
		);
	}, 300_000);

	it('Upload carries the signature; Download checks it (public keys only) and refuses a set signed by another key', async () => {
		const remote = mkdtempSync(join(tmpdir(), 'totvs-sealed-remote-'));
		const back = mkdtempSync(join(tmpdir(), 'totvs-sealed-back-'));
		try {
			const upload = { destination: 'local', localFolder: remote };
			const uploaded = await run(
				[
					{
						name: 'TOTVS Upload',
						type: UPLOAD_TYPE,
						parameters: { ...upload, operation: 'upload', setFolder: folder, useBackupKeys: true },
						keys: true,
					},
				],
				publicOnlyKeys,
			);
			expect(uploaded.error).toBeUndefined();
			const backupId = folder.split('/').pop()!;
			expect(readdirSync(join(remote, 'prod', backupId)).sort()).toContain('manifest.json.sig');
			const download = (keys: object) =>
				run(
					[
						{
							name: 'TOTVS Upload',
							type: UPLOAD_TYPE,
							parameters: {
								...upload,
								operation: 'download',
								environment: 'prod',
								backupId,
								stagingFolder: back,
								useBackupKeys: true,
							},
							keys: true,
						},
					],
					keys,
				);
			const downloaded = await download(publicOnlyKeys);
			expect(downloaded.error).toBeUndefined();
			// Another site's key: refused before anything is fetched, naming the set and the key.
			rmSync(join(back, 'prod'), { recursive: true, force: true });
			const foreign = await download({
				trustedKeys: parseSetKeys({ signingKey: otherSigningKey }).signingKey!.publicKey.pem,
			});
			expect(foreign.error?.message).toMatch(
				new RegExp(
					`Backup set ${backupId} .* is signed by key ${signingPublic.fingerprint}, which is not a trusted key`,
				),
			);
		} finally {
			rmSync(remote, { recursive: true, force: true });
			rmSync(back, { recursive: true, force: true });
		}
	}, 300_000);

	it('a flipped ciphertext byte: Verify names the artifact; a manifest edited with its hashes recomputed: refused by its signature', async () => {
		const copy = mkdtempSync(join(tmpdir(), 'totvs-sealed-copy-'));
		try {
			const backupId = folder.split('/').pop()!;
			const damaged = join(copy, 'prod', backupId);
			const { cpSync } = await import('node:fs');
			cpSync(folder, damaged, { recursive: true });
			const dump = join(damaged, `${database}.dump.age`);
			const bytes = readFileSync(dump);
			bytes[Math.floor(bytes.length / 2)] ^= 0x01;
			writeFileSync(dump, bytes);
			const flipped = await run([{ ...verifyNode({ setFolder: damaged }), continueOnFail: true }], publicOnlyKeys);
			const checks = checksOf(flipped.jsonOf('TOTVS Verify')[0]);
			expect(checks.find((c) => c.name === 'artifacts')).toMatchObject({
				ok: false,
				message: expect.stringContaining(`${database}.dump.age: SHA-256`),
			});

			// Hashes recomputed so size and SHA-256 match again: only the signature catches it.
			const manifestPath = join(damaged, 'manifest.json');
			const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
			const artifact = manifest.artifacts.find((a) => a.path.endsWith('.dump.age'))!;
			artifact.sha256 = createHash('sha256').update(bytes).digest('hex');
			writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
			const edited = await run([{ ...verifyNode({ setFolder: damaged }), continueOnFail: true }], publicOnlyKeys);
			const manifestCheck = checksOf(edited.jsonOf('TOTVS Verify')[0]).find((c) => c.name === 'manifest');
			expect(manifestCheck).toMatchObject({ ok: false });
			expect(manifestCheck!.message).toMatch(
				new RegExp(
					`Backup set ${backupId} .* by key ${signingPublic.fingerprint} does not verify: the manifest changed`,
				),
			);
		} finally {
			rmSync(copy, { recursive: true, force: true });
		}
	}, 300_000);

	it('refuses the directory format with encryption, and encryption without recipients, before anything is written', async () => {
		const empty = mkdtempSync(join(tmpdir(), 'totvs-sealed-empty-'));
		try {
			const dump = (options: IDataObject, keys: object) =>
				run(
					[
						{
							name: 'TOTVS Dump',
							type: DUMP_TYPE,
							parameters: {
								environment: 'prod',
								stagingFolder: empty,
								encryptAndSign: true,
								options,
							} as INodeParameters,
							keys: true,
						},
					],
					keys,
				);
			const directory = await dump({ format: 'directory' }, backupHostKeys);
			expect(directory.error?.message).toMatch(/Directory format \(pg_dump -Fd\) cannot be sealed/);
			const noRecipients = await dump({}, { signingKey });
			expect(noRecipients.error?.message).toMatch(/no recipient, so nothing was written/);
			const notAge = await dump({}, { recipients: 'ssh-ed25519 AAAAC3Nza', signingKey });
			expect(notAge.error?.message).toMatch(/Recipients.*not an age public key/);
			expect(filesUnder(empty)).toEqual([]);
		} finally {
			rmSync(empty, { recursive: true, force: true });
		}
	}, 300_000);
});
