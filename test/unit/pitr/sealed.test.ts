/**
 * Sealed point-in-time sets without a server: a sealed tar is extracted straight from its
 * ciphertext (decrypted on the fly, the plaintext hash checked), a wrong identity is named, a
 * chain never mixes sealed and clear sets, and a sealed set needs an identity before anything runs.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { withSetKeys } from '../../../core/backup-set/set-keys';
import { isBackupError } from '../../../core/errors';
import { AgeEncryptStream, generateAgeIdentity, parseIdentities, parseRecipients } from '../../../core/sealing';
import { extractTar } from '../../../core/sources/postgres-pitr/extract';
import { unsealedPath } from '../../../core/backup-set/manifest';
import type { PitrSetRecord } from '../../../core/sources/postgres-pitr/manifest';
import { openPitrFile, requireIdentities, requireSameSealing } from '../../../core/sources/postgres-pitr/sealed';

const owner = generateAgeIdentity();
const stranger = generateAgeIdentity();
let folder: string;
beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'pitr-sealed-'))));
afterEach(() => rmSync(folder, { recursive: true, force: true }));

async function sealedTar(): Promise<{ ciphertext: Buffer; plain: Buffer }> {
	const pack = tar.pack();
	pack.entry({ name: 'PG_VERSION', mode: 0o600 }, '15\n');
	pack.entry({ name: 'base/1/1259', mode: 0o600 }, Buffer.alloc(300_000, 3));
	pack.finalize();
	const plain = gzipSync(await buffer(pack as unknown as Readable));
	const ciphertext = await buffer(Readable.from([plain]).pipe(new AgeEncryptStream(parseRecipients(owner.recipient))));
	return { ciphertext, plain };
}

function record(sealed: boolean, plain?: Buffer, bytes = 0): PitrSetRecord {
	return {
		backupId: 'prod-20261205T020000Z-full-db',
		folder,
		type: 'full',
		artifacts: [
			{
				path: 'base/base.tar.gz.age',
				kind: 'pitr-base-tar',
				bytes,
				sha256: '',
				...(plain
					? { plaintext: { bytes: plain.length, sha256: createHash('sha256').update(plain).digest('hex') } }
					: {}),
			},
		],
		...(sealed ? { sealedFor: [owner.fingerprint] } : {}),
	} as unknown as PitrSetRecord;
}

test('a sealed tar is extracted from its ciphertext, decrypted on the fly; no plaintext copy of the archive is written', async () => {
	const { ciphertext, plain } = await sealedTar();
	writeFileSync(join(folder, 'base.tar.gz.age'), ciphertext);
	const set = record(true, plain, ciphertext.length);
	set.artifacts[0].path = 'base.tar.gz.age';
	const target = join(folder, 'data');
	const result = await withSetKeys({ identities: parseIdentities(owner.identity) }, () =>
		extractTar(join(folder, 'base.tar.gz.age'), target, undefined, undefined, openPitrFile(set, 'base.tar.gz.age')),
	);
	expect(result.files).toBe(2);
	expect(readFileSync(join(target, 'PG_VERSION'), 'utf8')).toBe('15\n');
	expect(readdirSync(folder).sort()).toEqual(['base.tar.gz.age', 'data']);
});

test('a wrong identity is named with the fingerprint the set was sealed for', async () => {
	const { ciphertext, plain } = await sealedTar();
	writeFileSync(join(folder, 'base.tar.gz.age'), ciphertext);
	const set = record(true, plain, ciphertext.length);
	set.artifacts[0].path = 'base.tar.gz.age';
	const error = await withSetKeys({ identities: parseIdentities(stranger.identity) }, () =>
		extractTar(
			join(folder, 'base.tar.gz.age'),
			join(folder, 'data'),
			undefined,
			undefined,
			openPitrFile(set, 'base.tar.gz.age'),
		),
	).catch((e: unknown) => e);
	expect(isBackupError(error)).toBe(true);
	expect((error as Error).message).toContain(owner.fingerprint);
});

test('a decrypted file whose plaintext differs from the sealed hash fails at its end', async () => {
	const { ciphertext, plain } = await sealedTar();
	writeFileSync(join(folder, 'base.tar.gz.age'), ciphertext);
	const set = record(true, Buffer.concat([plain, Buffer.from('x')]), ciphertext.length);
	set.artifacts[0].path = 'base.tar.gz.age';
	const read = withSetKeys({ identities: parseIdentities(owner.identity) }, () =>
		pipeline(openPitrFile(set, 'base.tar.gz.age'), async function* (source) {
			for await (const _chunk of source) yield* [];
		}),
	);
	await expect(read).rejects.toThrow(/sealed manifest records/);
});

test('no identity for a sealed chain: refused before anything runs, naming the fingerprint', () => {
	expect(() => requireIdentities([record(true)])).toThrow(owner.fingerprint);
	expect(() => requireIdentities([record(false)])).not.toThrow();
});

test('a chain is sealed from its base on, or not at all: each mix refused with what to do', () => {
	expect(() => requireSameSealing(record(false), true)).toThrow(/made without encryption/);
	expect(() => requireSameSealing(record(true), false)).toThrow(/is sealed/);
	try {
		requireSameSealing(record(false), true);
	} catch (error) {
		expect((error as { hint: string }).hint).toMatch(/Base Backup \(Full\)/);
	}
	expect(() => requireSameSealing(record(true), true)).not.toThrow();
	expect(() => requireSameSealing(record(false), false)).not.toThrow();
});

test('the stored name of a sealed file keeps its compression before ".age"', () => {
	expect(unsealedPath('wal/000000010000000000000003.gz.partial.age')).toBe('wal/000000010000000000000003.gz.partial');
	expect(unsealedPath('base/backup_manifest')).toBe('base/backup_manifest');
});
