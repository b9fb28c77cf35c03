import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { readSet } from '../../../core/backup-set/catalog';
import { isSealedWithoutKeys, serializeManifest, type Manifest } from '../../../core/backup-set/manifest';
import { openArtifact } from '../../../core/backup-set/sealed-read';
import { parseSetKeys, withSetKeys, type SetKeys } from '../../../core/backup-set/set-keys';
import { BackupSetWriter } from '../../../core/backup-set/set-writer';
import { generateAgeIdentity } from '../../../core/sealing';
import { sampleManifest } from '../../fixtures/manifest';

const at = new Date('2026-11-26T02:00:00Z');
const CUSTOMER = 'COMERCIAL ZEFERINO LTDA';
const owner = generateAgeIdentity();
const other = generateAgeIdentity();
const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
	key.export({ format: 'pem', type: 'pkcs8' }).toString();
const signingPem = pem(generateKeyPairSync('ed25519').privateKey);
const otherSigningPem = pem(generateKeyPairSync('ed25519').privateKey);

/** The credential of the backup host: public keys and the signing key only. */
const backupHost = () => parseSetKeys({ recipients: owner.recipient, signingKey: signingPem }, { encrypt: true });
/** Where restores happen: the identity and the trusted public key. */
const restoreHost = (identity = owner.identity) =>
	parseSetKeys({
		identity,
		trustedKeys: parseSetKeys({ signingKey: signingPem }).signingKey!.publicKey.pem,
	});

let root: string;
beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'totvs-sealed-'));
});
afterEach(async () => {
	await rm(root, { recursive: true, force: true });
});

async function writeSet(keys: SetKeys, data: Buffer, overrides: Partial<Manifest> = {}, when = at) {
	return withSetKeys(keys, async () => {
		const set = await BackupSetWriter.create(root, 'prod', overrides.type ?? 'full', 'database', when);
		const artifact = await set.writeArtifact('protheus.dump', 'pg_dump-custom', Readable.from([data]));
		const manifest = sampleManifest({ backupId: set.backupId, artifacts: [artifact], ...overrides });
		(manifest.inventory as { tables: Array<{ name: string }> }).tables[0].name = CUSTOMER;
		await set.commit(manifest);
		return { set, artifact, manifest };
	});
}

describe('sealed sets', () => {
	it('encrypts artifacts as written, records ciphertext hashes publicly and seals what reveals data', async () => {
		const data = Buffer.concat([Buffer.from(`INSERT ${CUSTOMER}\n`), randomBytes(200_000)]);
		const { set, artifact, manifest } = await writeSet(backupHost(), data);
		expect(artifact.path).toBe('protheus.dump.age');
		const stored = await readFile(join(set.folder, 'protheus.dump.age'));
		expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
		expect(artifact.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
		expect(stored.includes(CUSTOMER)).toBe(false);
		expect((await readdir(set.folder)).sort()).toEqual([
			'manifest.json',
			'manifest.json.sig',
			'manifest.sealed.json.age',
			'protheus.dump.age',
		]);
		const publicText = await readFile(join(set.folder, 'manifest.json'), 'utf8');
		expect(publicText).not.toContain(CUSTOMER);
		expect(publicText).not.toContain(createHash('sha256').update(data).digest('hex'));
		const onBackupHost = await withSetKeys(backupHost(), () => readSet(set.folder));
		expect(isSealedWithoutKeys(onBackupHost)).toBe(true);
		expect(onBackupHost.encryption).toEqual({
			method: 'age',
			recipients: [{ fingerprint: owner.fingerprint }],
			sealedPart: 'manifest.sealed.json.age',
		});
		// The in-memory manifest the dump returns is the unsealed view.
		expect(manifest.artifacts[0].plaintext).toEqual({
			bytes: data.length,
			sha256: createHash('sha256').update(data).digest('hex'),
		});
		// Where restores happen: unsealed, signature checked, artifact decrypted on the fly.
		const opened = await withSetKeys(restoreHost(), () => readSet(set.folder));
		expect((opened.inventory as { tables: Array<{ name: string }> }).tables[0].name).toBe(CUSTOMER);
		expect(opened.artifacts[0].plaintext?.sha256).toBe(createHash('sha256').update(data).digest('hex'));
		const plain = await withSetKeys(restoreHost(), async () =>
			Buffer.concat(await openArtifact(set.folder, opened, opened.artifacts[0]).toArray()),
		);
		expect(plain.equals(data)).toBe(true);
	});

	it('makes its folders 0700 and its files 0600', async () => {
		const { set } = await writeSet(backupHost(), randomBytes(10));
		for (const folder of [join(root, 'prod'), set.folder]) expect((await stat(folder)).mode & 0o777).toBe(0o700);
		for (const name of await readdir(set.folder))
			expect([name, (await stat(join(set.folder, name))).mode & 0o777]).toEqual([name, 0o600]);
		const plainSet = await writeSet({}, randomBytes(10), {}, new Date('2026-11-27T02:00:00Z'));
		for (const name of await readdir(plainSet.set.folder))
			expect([name, (await stat(join(plainSet.set.folder, name))).mode & 0o777]).toEqual([name, 0o600]);
	});

	it('refuses to restore without an identity, or with the wrong one, naming the fingerprint needed', async () => {
		const { set } = await writeSet(backupHost(), randomBytes(1000));
		const noIdentity = parseSetKeys({ trustedKeys: parseSetKeys({ signingKey: signingPem }).signingKey!.publicKey.pem });
		const manifest = await withSetKeys(noIdentity, () => readSet(set.folder));
		expect(() => openArtifact(set.folder, manifest, manifest.artifacts[0], { identities: [] })).toThrow(
			new RegExp(`no identity.*${owner.fingerprint}`),
		);
		await expect(withSetKeys(restoreHost(other.identity), () => readSet(set.folder))).rejects.toThrow(
			new RegExp(`none of .*${other.fingerprint}.*opens it[\\s\\S]*`),
		);
		await expect(withSetKeys(restoreHost(other.identity), () => readSet(set.folder))).rejects.toMatchObject({
			hint: expect.stringContaining(owner.fingerprint),
		});
	});

	it('refuses a manifest edited with its hashes recomputed (signature), and a set signed by another key', async () => {
		const { set } = await writeSet(backupHost(), randomBytes(1000));
		const path = join(set.folder, 'manifest.json');
		const original = await readFile(path, 'utf8');
		// An attacker replaces the dump and recomputes the recorded hash.
		const forged = randomBytes(500);
		await writeFile(join(set.folder, 'protheus.dump.age'), forged);
		const edited = JSON.parse(original) as Manifest;
		edited.artifacts[0].bytes = forged.length;
		edited.artifacts[0].sha256 = createHash('sha256').update(forged).digest('hex');
		await writeFile(path, serializeManifest(edited));
		await expect(withSetKeys(restoreHost(), () => readSet(set.folder))).rejects.toThrow(
			new RegExp(`Backup set ${set.backupId} .* by key [0-9a-f]{16} does not verify: the manifest changed`),
		);

		const foreign = await writeSet(
			parseSetKeys({ recipients: owner.recipient, signingKey: otherSigningPem }),
			randomBytes(10),
			{},
			new Date('2026-11-27T02:00:00Z'),
		);
		await expect(withSetKeys(restoreHost(), () => readSet(foreign.set.folder))).rejects.toThrow(
			/is signed by key [0-9a-f]{16}, which is not a trusted key/,
		);
	});

	it('accepts an unsigned set only with the explicit opt-in', async () => {
		const { set } = await writeSet(parseSetKeys({ recipients: owner.recipient }), randomBytes(10));
		await expect(withSetKeys(restoreHost(), () => readSet(set.folder))).rejects.toThrow(/has no signature/);
		const optIn = { ...restoreHost(), allowUnsigned: true };
		expect((await withSetKeys(optIn, () => readSet(set.folder))).backupId).toBe(set.backupId);
	});

	it('refuses encryption on a set whose chain parent was made in the clear, saying what to do', async () => {
		const parent = await writeSet({}, randomBytes(10));
		await expect(
			writeSet(
				backupHost(),
				randomBytes(10),
				{ type: 'differential', baseBackupId: parent.set.backupId, parentBackupId: parent.set.backupId },
				new Date('2026-11-27T02:00:00Z'),
			),
		).rejects.toThrow(/made without encryption.*not kept/);
	});

	it('refuses recipients that are not age public keys, and encryption without recipients', () => {
		expect(() => parseSetKeys({ recipients: `${owner.recipient}\nssh-ed25519 AAAA` })).toThrow(
			/field "Recipients": Recipient at line 2 is not an age public key/,
		);
		expect(() => parseSetKeys({ recipients: owner.identity })).toThrow(/it is a private key/);
		expect(() => parseSetKeys({ recipients: '# none yet\n' }, { encrypt: true })).toThrow(/has no recipient/);
	});

	it('writes plain sets byte for byte as before when no keys are set', async () => {
		const data = randomBytes(1000);
		const { set } = await writeSet({}, data);
		expect(await readFile(join(set.folder, 'protheus.dump'))).toEqual(data);
		expect(await text(Readable.from([await readFile(join(set.folder, 'manifest.json'))]))).toContain('"method": "none"');
	});
});
