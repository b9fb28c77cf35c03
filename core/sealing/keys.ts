/**
 * age keys: X25519 recipients (`age1…`, public) and identities (`AGE-SECRET-KEY-1…`, private),
 * parsed, validated and turned into node:crypto KeyObjects. A parsed identity keeps its secret
 * in a KeyObject only (never in a string property), so logging or serialising one does not
 * leak it; every error names the line, never its content.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { bech32Decode, bech32Encode } from './bech32';
import { SealingError } from './errors';

// DER framing of raw 32-byte X25519 keys (RFC 8410): node:crypto imports raw keys only this way.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';

/** An X25519 recipient: whoever holds the matching identity can decrypt. */
export interface AgeRecipient {
	/** The canonical `age1…` string. */
	readonly text: string;
	/** The raw 32-byte X25519 public key. */
	readonly publicKey: Buffer;
	readonly keyObject: KeyObject;
	/** See recipientFingerprint. */
	readonly fingerprint: string;
}

/** An X25519 identity (private key) and its recipient. */
export interface AgeIdentity {
	readonly privateKey: KeyObject;
	readonly recipient: AgeRecipient;
}

/** Short, stable name of a public key for manifests and messages: first 16 hex of SHA-256 of the raw key. */
export function fingerprintOfRawKey(publicKey: Uint8Array): string {
	return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

function recipientFromRaw(publicKey: Buffer): AgeRecipient {
	return {
		text: bech32Encode(RECIPIENT_HRP, publicKey),
		publicKey,
		keyObject: createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' }),
		fingerprint: fingerprintOfRawKey(publicKey),
	};
}

/** Raw 32-byte public key of an X25519 KeyObject (public or private). */
export function rawX25519PublicKey(key: KeyObject): Buffer {
	const spki = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
	return spki.subarray(X25519_SPKI_PREFIX.length);
}

/** Lines of key text: several strings and/or multi-line text, blank lines and `#` comments skipped. */
function keyLines(input: string | readonly string[]): Array<{ line: string; position: string }> {
	const parts = typeof input === 'string' ? [input] : input;
	const out: Array<{ line: string; position: string }> = [];
	let number = 0;
	for (const part of parts) {
		for (const raw of part.split(/\r?\n/)) {
			number++;
			const line = raw.trim();
			if (line === '' || line.startsWith('#')) continue;
			out.push({ line, position: `line ${number}` });
		}
	}
	return out;
}

const RECIPIENT_HINT =
	'Recipients are age X25519 public keys, one per line, each "age1" followed by 58 characters; ' +
	'`age-keygen -o key.txt` makes a key pair and prints its public key, `age-keygen -y key.txt` prints it again.';

/** Parses one `age1…` recipient; `position` names it in the error (never the text itself for secrets). */
function parseRecipientLine(line: string, position: string): AgeRecipient {
	const fail = (what: string, hint = RECIPIENT_HINT) =>
		new SealingError('RECIPIENT_INVALID', `Recipient at ${position} is not an age public key: ${what}.`, hint);
	if (/^age-secret-key-/i.test(line)) {
		throw fail(
			'it is a private key (identity)',
			'Put only public keys in the recipients: `age-keygen -y key.txt` prints the public key of a private key file. ' +
				'The private key belongs only where restores happen; since it was pasted here, consider it exposed and make a new one.',
		);
	}
	if (/^(ssh-|ecdsa-)/.test(line)) throw fail('SSH keys are not supported as recipients');
	// bech32's alphabet has no "1", so a second "1" means another prefix: age1pq1…, age1tag1…, plugins.
	if (/^age1(pq|tag|tagpq)1/.test(line)) {
		throw fail('only X25519 recipients (age1…) are supported, not post-quantum or tag recipients');
	}
	if (/^age1[a-z0-9]+1/.test(line)) throw fail('it looks like an age plugin recipient; plugins are not supported');
	const decoded = bech32Decode(line);
	if (!decoded.ok) throw fail(decoded.reason);
	if (decoded.hrp !== RECIPIENT_HRP) throw fail('it does not start with "age1"');
	if (decoded.upperCase) throw fail('age recipients are written in lower case');
	if (decoded.data.length !== 32) throw fail(`it holds ${decoded.data.length} bytes where an X25519 key has 32`);
	return recipientFromRaw(decoded.data);
}

/**
 * Parses recipients: strings and/or text with one `age1…` per line (blank lines and `#`
 * comments ignored). Duplicates are dropped. Throws RECIPIENT_INVALID naming the line, or
 * NO_RECIPIENTS when there is none.
 */
export function parseRecipients(input: string | readonly string[]): AgeRecipient[] {
	const out = new Map<string, AgeRecipient>();
	for (const { line, position } of keyLines(input)) {
		const recipient = parseRecipientLine(line, position);
		out.set(recipient.text, recipient);
	}
	if (out.size === 0) {
		throw new SealingError(
			'NO_RECIPIENTS',
			'No age recipient was given, so nothing could be encrypted.',
			RECIPIENT_HINT,
		);
	}
	return [...out.values()];
}

const IDENTITY_HINT =
	'An age identity is a line "AGE-SECRET-KEY-1" followed by 58 characters, as in the key file `age-keygen -o key.txt` writes ' +
	'(its "#" comment lines may stay). Paste the whole line, unchanged.';

function parseIdentityLine(line: string, position: string): AgeIdentity {
	const fail = (what: string, hint = IDENTITY_HINT) =>
		new SealingError('IDENTITY_INVALID', `Identity at ${position} is not an age private key: ${what}.`, hint);
	if (/^age1/.test(line)) {
		throw fail(
			'it is a public key (recipient)',
			'Decrypting needs the private key file (AGE-SECRET-KEY-1…), not the public age1… recipient.',
		);
	}
	if (/^AGE-PLUGIN-/i.test(line)) throw fail('age plugin identities are not supported');
	if (/^-----BEGIN/.test(line) || /^ssh-/.test(line)) throw fail('SSH keys are not supported as identities');
	const decoded = bech32Decode(line);
	if (!decoded.ok) throw fail(decoded.reason);
	if (decoded.hrp !== IDENTITY_HRP) throw fail('it does not start with "AGE-SECRET-KEY-1"');
	if (!decoded.upperCase) throw fail('age private keys are written in upper case');
	if (decoded.data.length !== 32) throw fail(`it holds ${decoded.data.length} bytes where an X25519 key has 32`);
	const privateKey = createPrivateKey({
		key: Buffer.concat([X25519_PKCS8_PREFIX, decoded.data]),
		format: 'der',
		type: 'pkcs8',
	});
	decoded.data.fill(0);
	return { privateKey, recipient: recipientFromRaw(rawX25519PublicKey(privateKey)) };
}

/**
 * Parses identities: strings and/or key-file text with one `AGE-SECRET-KEY-1…` per line
 * (blank lines and `#` comments, such as age-keygen's, ignored). Throws IDENTITY_INVALID
 * naming the line (never its content), or NO_IDENTITIES when there is none.
 */
export function parseIdentities(input: string | readonly string[]): AgeIdentity[] {
	const out = new Map<string, AgeIdentity>();
	for (const { line, position } of keyLines(input)) {
		const identity = parseIdentityLine(line, position);
		out.set(identity.recipient.text, identity);
	}
	if (out.size === 0) {
		throw new SealingError(
			'NO_IDENTITIES',
			'No age identity (private key) was given, so nothing can be decrypted.',
			IDENTITY_HINT,
		);
	}
	return [...out.values()];
}

/** The public `age1…` recipient of one identity (as `age-keygen -y` prints it). */
export function recipientFromIdentity(identity: string): string {
	const identities = parseIdentities(identity);
	if (identities.length !== 1) {
		throw new SealingError(
			'IDENTITY_INVALID',
			`Expected one age identity, got ${identities.length}.`,
			'Pass a single AGE-SECRET-KEY-1… line or key file.',
		);
	}
	return identities[0].recipient.text;
}

/** Fingerprint of an `age1…` recipient (validated): first 16 hex of SHA-256 of its raw public key. */
export function recipientFingerprint(recipient: string): string {
	return parseRecipientLine(recipient.trim(), 'line 1').fingerprint;
}

/**
 * A new X25519 key pair in age's text forms, for tests and setup tools. `identity` is
 * secret: show it to the user once, never log it.
 */
export function generateAgeIdentity(): { identity: string; recipient: string; fingerprint: string } {
	const { privateKey } = generateKeyPairSync('x25519');
	const der = privateKey.export({ format: 'der', type: 'pkcs8' });
	const secret = der.subarray(X25519_PKCS8_PREFIX.length);
	const identity = bech32Encode(IDENTITY_HRP, secret).toUpperCase();
	der.fill(0);
	const recipient = recipientFromRaw(rawX25519PublicKey(privateKey));
	return { identity, recipient: recipient.text, fingerprint: recipient.fingerprint };
}
