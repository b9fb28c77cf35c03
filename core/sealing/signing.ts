/**
 * Ed25519 signatures over a set's manifest, on node:crypto. The signature is a detached file
 * (`manifest.json.sig`, a small JSON document) over the manifest's exact bytes, so the manifest
 * itself stays byte-identical and readable by older versions. Keys: the signing key is a PEM
 * PKCS#8 Ed25519 private key (`openssl genpkey -algorithm ed25519`); trusted keys are PEM SPKI
 * public keys or the raw 32-byte key in base64 (a private key PEM is accepted too and reduced
 * to its public half). Messages name keys by fingerprint only.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { SealingError } from './errors';
import { fingerprintOfRawKey } from './keys';

/** Name of the detached signature file next to a manifest. */
export const SIGNATURE_SUFFIX = '.sig';
const SIGNATURE_FORMAT = 'totvs-backup-signature/1';
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An Ed25519 public key as parsed from text. */
export interface SigningPublicKey {
	readonly keyObject: KeyObject;
	/** Raw 32-byte key, base64: the short form to paste into a credential. */
	readonly base64: string;
	/** PEM SPKI (`-----BEGIN PUBLIC KEY-----`). */
	readonly pem: string;
	/** First 16 hex of SHA-256 of the raw 32-byte key. */
	readonly fingerprint: string;
}

/** A parsed Ed25519 signing (private) key and its public half. */
export interface SigningKey {
	readonly privateKey: KeyObject;
	readonly publicKey: SigningPublicKey;
}

/** The JSON document in `manifest.json.sig`. */
export interface SignatureFile {
	format: typeof SIGNATURE_FORMAT;
	algorithm: 'ed25519';
	/** Fingerprint of the public key that verifies `signature`. */
	keyFingerprint: string;
	/** Base64 Ed25519 signature (64 bytes) over the signed file's exact bytes. */
	signature: string;
	/** Size and SHA-256 of the signed bytes: only to tell "edited" from "damaged" in messages. */
	signedBytes: number;
	signedSha256: string;
	/** Name of the signed file, informative. */
	signedFile?: string;
}

function publicKeyOf(key: KeyObject): SigningPublicKey {
	const publicKey = key.type === 'public' ? key : createPublicKey(key);
	const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
	return {
		keyObject: publicKey,
		base64: raw.toString('base64'),
		pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
		fingerprint: fingerprintOfRawKey(raw),
	};
}

const SIGNING_KEY_HINT =
	'Make one with `openssl genpkey -algorithm ed25519 -out signing-key.pem` and paste the whole file, from ' +
	'"-----BEGIN PRIVATE KEY-----" to "-----END PRIVATE KEY-----"; `openssl pkey -in signing-key.pem -pubout` prints ' +
	'its public key for the hosts that verify.';

/**
 * Parses a PEM PKCS#8 Ed25519 private key. Throws SIGNING_KEY_INVALID (never echoing the
 * key) for anything else: another algorithm, an encrypted key, a public key, garbage.
 */
export function parseSigningKey(pem: string | SigningKey): SigningKey {
	if (typeof pem !== 'string') return pem;
	const fail = (what: string, cause?: unknown) =>
		new SealingError('SIGNING_KEY_INVALID', `The signing key is not usable: ${what}.`, SIGNING_KEY_HINT, { cause });
	const text = pem.trim();
	if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
		throw fail('it is passphrase-protected; store it unencrypted in the credential (n8n encrypts credentials)');
	}
	if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(text)) {
		throw fail('it is a public key; signing needs the private key (verifying hosts need only the public key)');
	}
	if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw fail('it is not a PEM private key');
	let privateKey: KeyObject;
	try {
		privateKey = createPrivateKey({ key: text, format: 'pem' });
	} catch (error) {
		throw fail('it could not be read as a PEM private key (cut short or altered?)', error);
	}
	if (privateKey.asymmetricKeyType !== 'ed25519') {
		throw fail(`it is an ${String(privateKey.asymmetricKeyType).toUpperCase()} key, and signatures here are Ed25519`);
	}
	return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** The public half of a signing key (PEM, base64 raw, fingerprint), to give to verifying hosts. */
export function signingPublicKey(signingKey: string | SigningKey): SigningPublicKey {
	return parseSigningKey(signingKey).publicKey;
}

const PUBLIC_KEY_HINT =
	'Trusted keys are Ed25519 public keys: PEM ("-----BEGIN PUBLIC KEY-----", from `openssl pkey -in signing-key.pem -pubout`) ' +
	'or the 32 raw key bytes in base64 (44 characters), several allowed.';

/**
 * Parses trusted Ed25519 public keys from strings and/or text: PEM blocks (public, or private
 * reduced to public) and lines of base64 raw keys; blank lines and `#` comments ignored.
 * Throws PUBLIC_KEY_INVALID naming the entry, or when there is none.
 */
export function parseSigningPublicKeys(input: string | readonly string[]): SigningPublicKey[] {
	const fail = (what: string, cause?: unknown) =>
		new SealingError('PUBLIC_KEY_INVALID', `Trusted signing key ${what}.`, PUBLIC_KEY_HINT, { cause });
	const out = new Map<string, SigningPublicKey>();
	let entry = 0;
	for (const part of typeof input === 'string' ? [input] : input) {
		const rest = part.replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g, (block, label: string) => {
			entry++;
			let key: KeyObject;
			try {
				key = /PRIVATE KEY/.test(label) ? createPrivateKey(block) : createPublicKey(block);
			} catch (error) {
				throw fail(`${entry} is a PEM block that could not be read as a key`, error);
			}
			if (key.asymmetricKeyType !== 'ed25519') throw fail(`${entry} is not an Ed25519 key`);
			const parsed = publicKeyOf(key);
			out.set(parsed.fingerprint, parsed);
			return '\n';
		});
		for (const raw of rest.split(/\r?\n/)) {
			const line = raw.trim();
			if (line === '' || line.startsWith('#')) continue;
			entry++;
			if (line.startsWith('-----')) throw fail(`${entry} is an incomplete PEM block`);
			const bytes = /^[A-Za-z0-9+/]{43}=$/.test(line) ? Buffer.from(line, 'base64') : undefined;
			if (!bytes || bytes.length !== 32) throw fail(`${entry} is neither PEM nor a base64 32-byte Ed25519 key`);
			const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
			const parsed = publicKeyOf(key);
			out.set(parsed.fingerprint, parsed);
		}
	}
	if (out.size === 0) throw fail('list is empty: no public key to verify signatures with');
	return [...out.values()];
}

/**
 * Signs `manifestBytes` (the exact bytes written) and returns the content of the detached
 * signature file (JSON, newline-terminated) to write as `manifest.json.sig`.
 */
export function signManifest(
	manifestBytes: Uint8Array,
	signingKey: string | SigningKey,
	options: { signedFile?: string } = {},
): string {
	const key = parseSigningKey(signingKey);
	const document: SignatureFile = {
		format: SIGNATURE_FORMAT,
		algorithm: 'ed25519',
		keyFingerprint: key.publicKey.fingerprint,
		signature: sign(null, manifestBytes, key.privateKey).toString('base64'),
		signedBytes: manifestBytes.length,
		signedSha256: createHash('sha256').update(manifestBytes).digest('hex'),
		...(options.signedFile ? { signedFile: options.signedFile } : {}),
	};
	return JSON.stringify(document, null, '\t') + '\n';
}

/** What verifyManifestSignature found. */
export interface VerifiedSignature {
	/** Fingerprint of the trusted key that verifies the signature. */
	keyFingerprint: string;
}

function parseSignatureFile(text: string, fail: (what: string) => SealingError): SignatureFile & { bytes: Buffer } {
	let document: unknown;
	try {
		document = JSON.parse(text);
	} catch {
		throw fail('it is not JSON');
	}
	const d = document as Partial<Record<keyof SignatureFile, unknown>> | null;
	if (!d || typeof d !== 'object' || Array.isArray(d)) throw fail('it is not a JSON object');
	if (d.format !== SIGNATURE_FORMAT) throw fail(`its "format" is not "${SIGNATURE_FORMAT}"`);
	if (d.algorithm !== 'ed25519') throw fail('its "algorithm" is not "ed25519"');
	if (typeof d.keyFingerprint !== 'string' || !/^[0-9a-f]{16}$/.test(d.keyFingerprint)) {
		throw fail('its "keyFingerprint" is not 16 hex digits');
	}
	const bytes =
		typeof d.signature === 'string' && /^[A-Za-z0-9+/]{86}==$/.test(d.signature)
			? Buffer.from(d.signature, 'base64')
			: undefined;
	if (!bytes || bytes.length !== 64) throw fail('its "signature" is not a base64 64-byte Ed25519 signature');
	return { ...(d as SignatureFile), bytes };
}

/**
 * Verifies a detached signature (the content of `manifest.json.sig`, or undefined when the
 * file is absent) over `manifestBytes` against `trustedKeys` (see parseSigningPublicKeys).
 * Returns which trusted key signed. Throws SIGNATURE_MISSING (no signature file: the caller
 * decides whether an explicit opt-in allows unsigned sets), SIGNATURE_MALFORMED,
 * SIGNATURE_INVALID (edited manifest or damaged signature) or SIGNER_UNTRUSTED, naming `name`
 * (the set / manifest), the fingerprints expected and the one found.
 */
export function verifyManifestSignature(
	manifestBytes: Uint8Array,
	signature: string | Uint8Array | undefined,
	trustedKeys: string | readonly string[] | readonly SigningPublicKey[],
	context: { name?: string } = {},
): VerifiedSignature {
	const keys =
		typeof trustedKeys !== 'string' && trustedKeys.length > 0 && typeof trustedKeys[0] !== 'string'
			? (trustedKeys as readonly SigningPublicKey[])
			: parseSigningPublicKeys(trustedKeys as string | readonly string[]);
	const label = context.name ?? 'the manifest';
	const expected = keys.map((k) => k.fingerprint).join(', ');
	if (signature === undefined) {
		throw new SealingError(
			'SIGNATURE_MISSING',
			`${label} has no signature (no ${SIGNATURE_SUFFIX} file next to the manifest), so it cannot be shown to come from ` +
				`a trusted key (${expected}).`,
			'Sets made before signing was turned on have none: accept unsigned sets only with the explicit opt-in, and only if ' +
				'you trust the destination. A set made since then without a signature may have been replaced.',
		);
	}
	const text = typeof signature === 'string' ? signature : Buffer.from(signature).toString('utf8');
	const parsed = parseSignatureFile(
		text,
		(what) =>
			new SealingError(
				'SIGNATURE_MALFORMED',
				`The signature file of ${label} is malformed: ${what}.`,
				'The signature file was damaged or replaced. Use another copy of the set, or re-sign the set where it was made ' +
					'if you know its manifest is genuine.',
			),
	);
	for (const key of keys) {
		if (verify(null, manifestBytes, key.keyObject, parsed.bytes)) return { keyFingerprint: key.fingerprint };
	}
	const found = parsed.keyFingerprint;
	if (!keys.some((k) => k.fingerprint === found)) {
		throw new SealingError(
			'SIGNER_UNTRUSTED',
			`${label} is signed by key ${found}, which is not a trusted key (trusted: ${expected}).`,
			"If the set was signed with a key you still trust (an older or another site's key), add its public key to the " +
				'trusted keys; otherwise the set was not made by you and must not be restored.',
		);
	}
	const actualSha256 = createHash('sha256').update(manifestBytes).digest('hex');
	const edited =
		parsed.signedSha256 !== actualSha256
			? `the manifest changed after it was signed (${manifestBytes.length} bytes now, ${String(parsed.signedBytes)} signed)`
			: 'the signature does not match the manifest (the signature itself was altered)';
	throw new SealingError(
		'SIGNATURE_INVALID',
		`The signature of ${label} by key ${found} does not verify: ${edited}.`,
		'Do not restore this set: its manifest is not the one that was signed. Use another copy of the set.',
	);
}
