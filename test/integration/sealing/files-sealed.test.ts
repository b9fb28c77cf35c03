/**
 * Sealed Protheus file sets (issue 12): TOTVS Dump's files source with the keys a node gives.
 * The archive and the files index are encrypted as written (the index only in the sealed part),
 * manifest.json names no file of the tree; Verify with public keys checks the signature and the
 * ciphertext (a flipped byte names the artifact), with the identity it decrypts and walks the
 * archive; Restore Test and Restore decrypt on the fly into the tar reader and leave no plaintext
 * copy behind (success, failure, cancel; also a chain fetched from a destination). Chains: a
 * sealed incremental needs the identity to read its parent's sealed index (another identity is
 * named as such), and is refused on a parent made in the clear.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupResult } from '../../../core/backup';
import { parseSetKeys, withSetKeys, type SetKeysText } from '../../../core/backup-set/set-keys';
import type { Manifest } from '../../../core/backup-set/manifest';
import { isBackupError, type BackupError } from '../../../core/errors';
import { silentLogger, type Logger } from '../../../core/logger';
import { LocalFolderDestination } from '../../../core/destinations';
import { fetchRemoteSet, restoreFilesSet, runFilesRestoreTest } from '../../../core/restore-test';
import { generateAgeIdentity } from '../../../core/sealing';
import { verifyLocalSet } from '../../../core/verify';
import { age, createProtheusTree, filesBackup, type ProtheusTree } from '../../../support/fixtures/protheus-tree';

const owner = generateAgeIdentity();
const stranger = generateAgeIdentity();
const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPublic = parseSetKeys({ signingKey }).signingKey!.publicKey.pem;

/** The backup host: public keys and the signing key only. */
const backupHost: SetKeysText = { recipients: owner.recipient, signingKey };
/** A backup host that also holds the (files) identity: what a sealed incremental needs. */
const backupHostWithIdentity: SetKeysText = { ...backupHost, identity: owner.identity };
const restoreHost: SetKeysText = { identity: owner.identity, trustedKeys: signingPublic };
const publicOnly: SetKeysText = { trustedKeys: signingPublic };

/** A file whose name and content must never appear in the clear in a sealed set. */
const SECRET_NAME = 'cliente-segredo-4711.txt';
const SECRET_CONTENT = 'JOSÉ DA SILVA LTDA CNPJ 12.345.678/0001-90 saldo 98765,43';
const LATER_NAME = 'titulo-novo-0815.txt';

let work: string;
let tree: ProtheusTree;
let staging: string;
let full: BackupResult;
let incremental: BackupResult;

const withKeys = <T>(keys: SetKeysText, work: () => Promise<T>, allowUnsigned = false) =>
	withSetKeys(parseSetKeys(keys, { allowUnsigned }), work);
const backup = (keys: SetKeysText | undefined, type: 'full' | 'incremental' | 'differential', folder = staging) => {
	const make = () => filesBackup(folder, type, { appserverIni: tree.appserverIni, compression: 'none' });
	// As TOTVS Dump reads its keys: the chain's parent may be a set made before signing was on.
	return keys ? withKeys(keys, make, true) : make();
};
const failureOf = async (promise: Promise<unknown>): Promise<BackupError> => {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	if (!isBackupError(error)) throw new Error(`expected a BackupError, got ${String(error)}`);
	return error;
};
function filesUnder(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
	);
}
const setFolders = (folder: string) => readdirSync(join(folder, 'p12')).sort();
const checksOf = (verification: { checks: Array<{ name: string; ok: boolean; notRun?: boolean }> }) =>
	verification.checks.map((c) => [c.name, c.ok || !!c.notRun]);
const hasAge = spawnSync('sh', ['-c', 'command -v age']).status === 0;

beforeAll(async () => {
	work = mkdtempSync(join(tmpdir(), 'totvs-files-sealed-'));
	tree = await createProtheusTree(join(work, 'totvs'), { smallFiles: 40, rpoBytes: 128 << 10, tables: 2 });
	await writeFile(join(tree.protheusData, 'system', SECRET_NAME), SECRET_CONTENT);
	staging = join(work, 'staging');
	await mkdir(staging);
	full = await backup(backupHost, 'full');
	const later = join(tree.protheusData, 'profile', LATER_NAME);
	await writeFile(later, `${SECRET_CONTENT} (2)`);
	await age(later, 0);
	incremental = await backup(backupHostWithIdentity, 'incremental');
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a sealed files set as written', () => {
	it('holds only age files, a public manifest naming no file of the tree, and its signature; private modes', () => {
		for (const made of [full, incremental]) {
			const names = readdirSync(made.folder).sort();
			expect(names).toEqual(['files.tar.age', 'manifest.json', 'manifest.json.sig', 'manifest.sealed.json.age']);
			for (const file of filesUnder(made.folder)) {
				const content = readFileSync(file);
				for (const needle of [SECRET_NAME, LATER_NAME, SECRET_CONTENT, 'sigamat.emp', 'menu-padrao.xnu'])
					expect([file, needle, content.includes(Buffer.from(needle, 'utf8'))]).toEqual([file, needle, false]);
				if (file.endsWith('.age')) expect(content.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
				expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
			}
			expect((statSync(made.folder).mode & 0o777).toString(8)).toBe('700');
			const manifest = JSON.parse(readFileSync(join(made.folder, 'manifest.json'), 'utf8')) as Manifest;
			expect(manifest.inventory).toBeNull();
			expect(manifest.encryption).toMatchObject({ method: 'age', recipients: [{ fingerprint: owner.fingerprint }] });
			for (const artifact of manifest.artifacts)
				expect(Object.keys(artifact).sort()).toEqual(['bytes', 'kind', 'path', 'sha256']);
		}
		expect(incremental.manifest).toMatchObject({ type: 'incremental', parentBackupId: full.manifest.backupId });
		// The dump's own result keeps the index (the item and summary need it), the disk does not.
		expect(incremental.manifest.inventory).toMatchObject({
			changes: { added: [`protheus_data/profile/${LATER_NAME}`] },
		});
	});

	(hasAge ? it : it.skip)(
		`the reference age CLI decrypts the archive into tar${hasAge ? '' : ' (skipped: age not installed)'}`,
		() => {
			const keyFile = join(work, 'key.txt');
			writeFileSync(keyFile, `${owner.identity}\n`, { mode: 0o600 });
			const listed = spawnSync(
				'bash',
				['-euo', 'pipefail', '-c', 'age -d -i "$KEY" "$SET/files.tar.age" | tar -tf -'],
				{ encoding: 'utf8', env: { PATH: process.env.PATH, KEY: keyFile, SET: full.folder } },
			);
			expect({ status: listed.status, stderr: listed.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
			expect(listed.stdout.split('\n')).toContain(`protheus_data/system/${SECRET_NAME}`);
		},
	);
});

describe('Verify of a sealed files set', () => {
	it('with public keys only: signature and ciphertext checked, the archive walk needs the identity', async () => {
		const { verification } = await withKeys(publicOnly, () => verifyLocalSet(incremental.folder));
		expect(checksOf(verification)).toEqual([
			['manifest', true],
			['artifacts', true],
			['archive', true],
			['chain', true],
		]);
		expect(verification.ok).toBe(true);
		const archive = verification.checks.find((c) => c.name === 'archive')!;
		expect(archive).toMatchObject({ notRun: true, message: expect.stringContaining(owner.fingerprint) });
	});

	it('with the identity: decrypted, every archive entry checked against the sealed index, the chain too', async () => {
		const { verification } = await withKeys(restoreHost, () => verifyLocalSet(incremental.folder));
		expect(checksOf(verification)).toEqual([
			['manifest', true],
			['artifacts', true],
			['decrypted', true],
			['archive', true],
			['chain', true],
		]);
		expect(verification.checks.every((c) => c.ok)).toBe(true);
	});

	it('a flipped byte in the encrypted archive names the artifact, with public keys only', async () => {
		const copy = join(work, 'flipped');
		cpSync(staging, copy, { recursive: true });
		const archive = join(copy, 'p12', full.manifest.backupId, 'files.tar.age');
		const bytes = readFileSync(archive);
		bytes[bytes.length - 100] ^= 0x01;
		writeFileSync(archive, bytes);
		const { verification } = await withKeys(publicOnly, () =>
			verifyLocalSet(join(copy, 'p12', full.manifest.backupId)),
		);
		expect(verification.ok).toBe(false);
		const artifacts = verification.checks.find((c) => c.name === 'artifacts')!;
		expect(artifacts.ok).toBe(false);
		expect(artifacts.message).toContain('files.tar.age');
		// The incremental built on it: its chain check names the damaged ancestor.
		const { verification: child } = await withKeys(publicOnly, () =>
			verifyLocalSet(join(copy, 'p12', incremental.manifest.backupId)),
		);
		const chain = child.checks.find((c) => c.name === 'chain')!;
		expect(chain.ok).toBe(false);
		expect(chain.message).toContain(full.manifest.backupId);
		expect(chain.message).toContain('files.tar.age');
	});
});

describe('sealed chains', () => {
	it('a sealed incremental without the identity on the backup host is refused before anything is written, saying what to do', async () => {
		const before = setFolders(staging);
		const error = await failureOf(backup(backupHost, 'incremental'));
		expect(error.message).toContain(incremental.manifest.backupId);
		expect(error.message).toMatch(/sealed|encrypted/);
		expect(error.message).toContain('identity');
		expect(error.hint).toMatch(/Identity/);
		expect(error.hint).toMatch(/Full/);
		expect(setFolders(staging)).toEqual(before);
	});

	it('a sealed incremental with another identity is refused naming the fingerprints, not "no backup exists"', async () => {
		const before = setFolders(staging);
		const error = await failureOf(backup({ ...backupHost, identity: stranger.identity }, 'incremental'));
		expect(error.message).toContain(owner.fingerprint);
		expect(error.message).toContain(stranger.fingerprint);
		expect(setFolders(staging)).toEqual(before);
	});

	it('an incremental in the clear on a sealed parent without the identity is refused too (its index is sealed)', async () => {
		const before = setFolders(staging);
		const error = await failureOf(backup(undefined, 'incremental'));
		expect(error.message).toContain(incremental.manifest.backupId);
		expect(error.hint).toMatch(/Identity/);
		expect(setFolders(staging)).toEqual(before);
	});

	it('a sealed differential on a full made in the clear is refused before anything is written, saying what to do', async () => {
		const clearStaging = join(work, 'clear-staging');
		await mkdir(clearStaging);
		const clearFull = await backup(undefined, 'full', clearStaging);
		for (const type of ['differential', 'incremental'] as const) {
			const error = await failureOf(backup(backupHostWithIdentity, type, clearStaging));
			expect(error.message).toContain(clearFull.manifest.backupId);
			expect(error.message).toContain('without encryption');
			expect(error.hint).toMatch(/full backup with "Encrypt and Sign" on/);
			expect(setFolders(clearStaging)).toEqual([clearFull.manifest.backupId]);
		}
	});
});

describe('restoring a sealed files set decrypts on the fly and leaves no plaintext copy', () => {
	const setFilesBefore = () => filesUnder(staging).sort();

	it('Restore Test restores the chain from the sealed archives and removes the scratch folder', async () => {
		const scratchFolder = join(work, 'scratch-ok');
		await mkdir(scratchFolder);
		const inSets = setFilesBefore();
		const report = await withKeys(restoreHost, () =>
			runFilesRestoreTest({ folder: incremental.folder, scratchFolder, keepOnFailure: false, log: silentLogger }),
		);
		expect(report.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(report.passed).toBe(true);
		expect(await readdir(scratchFolder)).toEqual([]);
		expect(setFilesBefore()).toEqual(inSets);
	});

	it('Restore Test without the identity, or with the wrong one, names the fingerprints and restores nothing', async () => {
		const scratchFolder = join(work, 'scratch-refused');
		await mkdir(scratchFolder);
		const test = (keys: SetKeysText) =>
			withKeys(keys, () =>
				runFilesRestoreTest({ folder: incremental.folder, scratchFolder, keepOnFailure: true, log: silentLogger }),
			);
		const wrong = await test({ ...restoreHost, identity: stranger.identity });
		expect(wrong.passed).toBe(false);
		expect(wrong.checks[0]).toMatchObject({ name: 'manifest', ok: false });
		expect(wrong.checks[0].message).toContain(stranger.fingerprint);
		expect(wrong.checks[0].message).toContain(owner.fingerprint);
		const none = await failureOf(test(publicOnly));
		expect(none.message).toMatch(new RegExp(`no identity .* sealed for the key\\(s\\) ${owner.fingerprint}`));
		expect(await readdir(scratchFolder)).toEqual([]);
		// Restore Files says the same before anything is made beside the target.
		const parent = join(work, 'restore-refused');
		await mkdir(parent);
		const refused = await failureOf(
			withKeys(publicOnly, () =>
				restoreFilesSet({
					folder: incremental.folder,
					target: join(parent, 'totvs'),
					replace: false,
					keepOnFailure: true,
					log: silentLogger,
				}),
			),
		);
		expect(refused.message).toContain(owner.fingerprint);
		expect(await readdir(parent)).toEqual([]);
	});

	it('Restore Test from a destination: the sealed chain downloaded as ciphertext, restored, the download removed', async () => {
		const destination = new LocalFolderDestination({ type: 'local', folder: staging });
		const download = mkdtempSync(join(work, 'dl-'));
		const report = await withKeys(restoreHost, async () => {
			const fetched = await fetchRemoteSet(
				destination,
				{ engine: 'protheus-files' },
				{ environment: 'p12', backupId: incremental.manifest.backupId, stagingFolder: download },
			);
			expect(fetched.chain).toEqual([full.manifest.backupId, incremental.manifest.backupId]);
			// What came down is what is on the destination: ciphertext, the public manifest, its signature.
			for (const file of filesUnder(download))
				expect([file, /(\.age|manifest\.json|manifest\.json\.sig)$/.test(file)]).toEqual([file, true]);
			const scratchFolder = join(work, 'scratch-remote');
			await mkdir(scratchFolder);
			const tested = await runFilesRestoreTest({
				folder: fetched.folder,
				scratchFolder,
				keepOnFailure: false,
				log: silentLogger,
			});
			expect(await readdir(scratchFolder)).toEqual([]);
			await fetched.finish(false);
			return tested;
		});
		expect(report.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(report.passed).toBe(true);
		expect(await readdir(download)).toEqual([]);
	});

	it('Restore Files restores the tree into a new folder, content intact', async () => {
		const target = join(work, 'restored', 'totvs');
		const report = await withKeys(restoreHost, () =>
			restoreFilesSet({ folder: incremental.folder, target, replace: false, keepOnFailure: false, log: silentLogger }),
		);
		expect(report.checks.filter((c) => !c.ok && !c.notRun)).toEqual([]);
		expect(report.passed).toBe(true);
		expect(report.chain).toEqual([full.manifest.backupId, incremental.manifest.backupId]);
		expect(readFileSync(join(target, 'protheus_data', 'system', SECRET_NAME), 'utf8')).toBe(SECRET_CONTENT);
		expect(readFileSync(join(target, 'protheus_data', 'profile', LATER_NAME), 'utf8')).toBe(`${SECRET_CONTENT} (2)`);
		expect((await readdir(join(work, 'restored'))).sort()).toEqual(['totvs']);
	});

	it('Restore Files of a damaged sealed archive (checked with the identity) fails naming it; nothing left beside the target', async () => {
		const copy = join(work, 'damaged');
		cpSync(staging, copy, { recursive: true });
		const archive = join(copy, 'p12', incremental.manifest.backupId, 'files.tar.age');
		const bytes = readFileSync(archive);
		bytes[bytes.length - 100] ^= 0x01;
		writeFileSync(archive, bytes);
		const parent = join(work, 'restore-damaged');
		await mkdir(parent);
		const report = await withKeys(restoreHost, () =>
			restoreFilesSet({
				folder: join(copy, 'p12', incremental.manifest.backupId),
				target: join(parent, 'totvs'),
				replace: false,
				keepOnFailure: false,
				log: silentLogger,
			}),
		);
		expect(report.passed).toBe(false);
		expect(report.checks.find((c) => !c.ok)?.message).toContain('files.tar.age');
		expect(await readdir(parent)).toEqual([]);
	});

	it('Restore Files cancelled in the middle: no copy left, the target untouched', async () => {
		const parent = join(work, 'cancel');
		const target = join(parent, 'totvs');
		await mkdir(target, { recursive: true });
		writeFileSync(join(target, 'keep.txt'), 'untouched');
		const controller = new AbortController();
		let sets = 0;
		const log: Logger = {
			...silentLogger,
			info: (message: string) => {
				if (message.startsWith('Restoring ') && ++sets === 2) controller.abort();
			},
		};
		const error = await failureOf(
			withKeys(restoreHost, () =>
				restoreFilesSet({
					folder: incremental.folder,
					target,
					replace: true,
					keepOnFailure: false,
					log,
					signal: controller.signal,
				}),
			),
		);
		expect(error.code).toBe('CANCELLED');
		expect(await readdir(parent)).toEqual(['totvs']);
		expect(await readdir(target)).toEqual(['keep.txt']);
	});
});
