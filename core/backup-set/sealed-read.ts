/**
 * Reading sealed sets: the sealed part into the manifest (readSet calls unsealManifest), and any
 * artifact as its plaintext stream (openArtifact), decrypted on the fly, memory flat. Every
 * restore path reads artifacts through openArtifact, so a plaintext copy exists only where a
 * caller writes one.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { AgeDecryptStream, SealingError, type AgeIdentity } from '../sealing';
import {
	inventoryProblem,
	isSealed,
	ManifestError,
	type ArtifactRecord,
	type Manifest,
	type SealedPart,
} from './manifest';
import { currentSetKeys } from './set-keys';

const artifactFile = (folder: string, artifact: ArtifactRecord) => join(folder, ...artifact.path.split('/'));

/** The fingerprints a sealed set was made for, for messages. */
export function sealedFor(manifest: Manifest): string[] {
	return manifest.encryption.method === 'age' ? manifest.encryption.recipients.map((r) => r.fingerprint) : [];
}

function decryptor(manifest: Manifest, artifact: ArtifactRecord, identities: readonly AgeIdentity[]) {
	return new AgeDecryptStream(identities, {
		name: `${artifact.path} of set ${manifest.backupId}`,
		recipientFingerprints: sealedFor(manifest),
	});
}

/** The identities to open `manifest`'s artifacts with, or a clear error naming the keys it needs. */
export function identitiesFor(manifest: Manifest, identities = currentSetKeys()?.identities): readonly AgeIdentity[] {
	if (identities?.length) return identities;
	throw new SealingError(
		'NO_IDENTITIES',
		`Backup set ${manifest.backupId} is encrypted (age) and no identity (private key) was given to open it; it was sealed for the key(s) ${sealedFor(manifest).join(', ')}.`,
		'Select a TOTVS Backup Keys credential whose Identity holds the private key (AGE-SECRET-KEY-1…) of one of those fingerprints. The backup host needs only the public keys; the identity belongs where restores happen.',
	);
}

/**
 * Fills a sealed manifest's inventory and plaintext hashes from its sealed part. The part's
 * ciphertext must have the size and SHA-256 manifest.json records (which its signature covers),
 * name this set, and hold a valid inventory of the set's engine.
 */
export async function unsealManifest(
	folder: string,
	manifest: Manifest,
	identities: readonly AgeIdentity[],
): Promise<Manifest> {
	if (manifest.encryption.method !== 'age') return manifest;
	const where = join(folder, manifest.encryption.sealedPart);
	const record = manifest.artifacts.find((a) => a.path === (manifest.encryption as { sealedPart: string }).sealedPart)!;
	const ciphertext = await readFile(artifactFile(folder, record)).catch((error: unknown) => {
		throw new ManifestError(where, `the sealed part could not be read (${(error as Error).message})`);
	});
	const sha256 = createHash('sha256').update(ciphertext).digest('hex');
	if (ciphertext.length !== record.bytes || sha256 !== record.sha256)
		throw new ManifestError(where, 'the sealed part is not the one the manifest records (size or SHA-256 differ)');
	const chunks: Buffer[] = [];
	await pipelineAsync(
		Readable.from([ciphertext]),
		decryptor(manifest, record, identities),
		new Writable({
			write(chunk: Buffer, _encoding, callback) {
				chunks.push(chunk);
				callback();
			},
		}),
	);
	let part: SealedPart;
	try {
		part = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SealedPart;
	} catch {
		throw new ManifestError(where, 'the sealed part is not valid JSON');
	}
	if (part?.format !== 'totvs-backup-sealed/1' || part.backupId !== manifest.backupId)
		throw new ManifestError(where, `the sealed part does not belong to set ${manifest.backupId}`);
	const problem = inventoryProblem(manifest.engine, part.inventory);
	if (problem) throw new ManifestError(where, `the sealed part's ${problem}`);
	return {
		...manifest,
		inventory: part.inventory,
		artifacts: manifest.artifacts.map((a) =>
			part.plaintext?.[a.path]
				? { ...a, plaintext: { bytes: part.plaintext[a.path].bytes, sha256: part.plaintext[a.path].sha256 } }
				: a,
		),
	};
}

/** Fails the stream at its end when the plaintext is not the size and SHA-256 recorded. */
class PlaintextCheck extends Transform {
	private readonly hash = createHash('sha256');
	private bytes = 0;
	constructor(
		private readonly expected: { bytes: number; sha256: string },
		private readonly name: string,
	) {
		super();
	}
	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.hash.update(chunk);
		this.bytes += chunk.length;
		callback(null, chunk);
	}
	override _flush(callback: TransformCallback) {
		const sha256 = this.hash.digest('hex');
		if (this.bytes === this.expected.bytes && sha256 === this.expected.sha256) return callback();
		callback(
			new ManifestError(
				this.name,
				`its decrypted content is ${this.bytes} bytes with SHA-256 ${sha256.slice(0, 16)}…, the sealed manifest records ${this.expected.bytes} bytes and ${this.expected.sha256.slice(0, 16)}…`,
			),
		);
	}
}

/**
 * The plaintext of one artifact as a stream: the file itself for a set in the clear, decrypted
 * on the fly (each 64 KiB chunk authenticated before it is handed on, the whole checked against
 * the recorded plaintext hash at its end) for a sealed one. Identities: the execution's keys
 * unless given; none for a sealed set is a clear error naming the fingerprints needed.
 */
export function openArtifact(
	folder: string,
	manifest: Manifest,
	artifact: ArtifactRecord,
	options: { identities?: readonly AgeIdentity[] } = {},
): Readable {
	const file = createReadStream(artifactFile(folder, artifact), { highWaterMark: 1 << 20 });
	if (!isSealed(manifest)) return file;
	let identities: readonly AgeIdentity[];
	try {
		identities = identitiesFor(manifest, options.identities ?? currentSetKeys()?.identities);
	} catch (error) {
		file.destroy();
		throw error;
	}
	const stages: Array<NodeJS.ReadWriteStream> = [decryptor(manifest, artifact, identities)];
	if (artifact.plaintext)
		stages.push(new PlaintextCheck(artifact.plaintext, `${artifact.path} of set ${basename(folder)}`));
	const out = stages[stages.length - 1] as Transform;
	pipeline([file, ...stages] as unknown as [Readable, Transform], () => undefined);
	return out;
}
