import { createHash, generateKeyPairSync } from 'node:crypto';
import {
	isSealingError,
	parseSigningKey,
	parseSigningPublicKeys,
	signManifest,
	signingPublicKey,
	verifyManifestSignature,
	type SealingReason,
} from '../../../core/sealing';

function ed25519Pem() {
	const { privateKey } = generateKeyPairSync('ed25519');
	return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

function failure(fn: () => unknown, reason: SealingReason) {
	try {
		fn();
	} catch (error) {
		if (!isSealingError(error)) throw error;
		expect(error.reason).toBe(reason);
		return error;
	}
	throw new Error(`expected ${reason}, nothing was thrown`);
}

const signer = ed25519Pem();
const other = ed25519Pem();
const manifest = Buffer.from(
	JSON.stringify({ formatVersion: 1, backupId: 'prod-20261126T020000Z-full-db' }, null, 2) + '\n',
);
const SET = 'set prod-20261126T020000Z-full-db (manifest.json)';

describe('signing keys', () => {
	it('reads a PEM PKCS#8 Ed25519 key and gives its public half in PEM, base64 and by fingerprint', () => {
		const key = parseSigningKey(signer);
		const pub = signingPublicKey(signer);
		expect(pub.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
		const raw = Buffer.from(pub.base64, 'base64');
		expect(raw).toHaveLength(32);
		expect(pub.fingerprint).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
		expect(key.publicKey.fingerprint).toBe(pub.fingerprint);
		expect(signingPublicKey(other).fingerprint).not.toBe(pub.fingerprint);
	});

	it.each([
		[
			'an RSA key',
			() =>
				generateKeyPairSync('rsa', { modulusLength: 1024 })
					.privateKey.export({ format: 'pem', type: 'pkcs8' })
					.toString(),
			/RSA key/,
		],
		[
			'a passphrase-protected key',
			() =>
				generateKeyPairSync('ed25519')
					.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' })
					.toString(),
			/passphrase/,
		],
		['a public key', () => signingPublicKey(signer).pem, /public key/],
		['a cut key', () => signer.slice(0, 60) + '\n-----END PRIVATE KEY-----\n', /could not be read/],
		['text', () => 'my signing key', /not a PEM private key/],
		[
			'an age identity',
			() => 'AGE-SECRET-KEY-1RQY4G7MAN2SQMQ82GSV4UV9SK6V7EP23W8YP6JFR3VVY4G0CKS4SSFCQW4',
			/not a PEM/,
		],
	])('refuses %s, without repeating it', (_what, make, pattern) => {
		const text = make();
		const error = failure(() => parseSigningKey(text), 'SIGNING_KEY_INVALID');
		expect(error.code).toBe('INVALID_INPUT');
		expect(error.message).toMatch(pattern);
		expect(error.hint).toMatch(/openssl genpkey -algorithm ed25519/);
		const body = text.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, '');
		for (let i = 0; i + 12 <= body.length; i += 4)
			expect(error.message + error.hint).not.toContain(body.slice(i, i + 12));
	});
});

describe('manifest signatures', () => {
	it('signs the exact bytes; verifies with the public key as PEM, as base64, or from the private key', () => {
		const text = signManifest(manifest, signer, { signedFile: 'manifest.json' });
		const document = JSON.parse(text);
		expect(document).toMatchObject({
			format: 'totvs-backup-signature/1',
			algorithm: 'ed25519',
			keyFingerprint: signingPublicKey(signer).fingerprint,
			signedBytes: manifest.length,
			signedSha256: createHash('sha256').update(manifest).digest('hex'),
			signedFile: 'manifest.json',
		});
		expect(Buffer.from(document.signature, 'base64')).toHaveLength(64);
		const pub = signingPublicKey(signer);
		const expected = { keyFingerprint: pub.fingerprint };
		expect(verifyManifestSignature(manifest, text, pub.pem)).toEqual(expected);
		expect(verifyManifestSignature(manifest, text, pub.base64)).toEqual(expected);
		expect(verifyManifestSignature(manifest, Buffer.from(text), signer)).toEqual(expected);
		expect(verifyManifestSignature(manifest, text, parseSigningPublicKeys(pub.pem))).toEqual(expected);
	});

	it('says which of several trusted keys signed (several in one text, comments allowed, or a list)', () => {
		const pubs = [signingPublicKey(other), signingPublicKey(signer)];
		const text = signManifest(manifest, other);
		const trusted = `# site A\n${pubs[1].pem}\n# site B (older key)\n${pubs[0].base64}\n`;
		expect(parseSigningPublicKeys(trusted).map((k) => k.fingerprint)).toEqual([
			pubs[1].fingerprint,
			pubs[0].fingerprint,
		]);
		expect(verifyManifestSignature(manifest, text, trusted).keyFingerprint).toBe(pubs[0].fingerprint);
		expect(verifyManifestSignature(manifest, text, [pubs[1].base64, pubs[0].pem]).keyFingerprint).toBe(
			pubs[0].fingerprint,
		);
	});

	it('refuses a manifest edited after signing, naming the set and the key', () => {
		const text = signManifest(manifest, signer);
		const edited = Buffer.from(manifest.toString().replace('full', 'diff'));
		const error = failure(
			() => verifyManifestSignature(edited, text, signingPublicKey(signer).pem, { name: SET }),
			'SIGNATURE_INVALID',
		);
		expect(error.code).toBe('VERIFY_FAILED');
		expect(error.message).toContain(SET);
		expect(error.message).toContain(signingPublicKey(signer).fingerprint);
		expect(error.message).toMatch(/changed after it was signed/);
	});

	it('signs bytes, not JSON: the same manifest re-serialised does not verify', () => {
		const text = signManifest(manifest, signer);
		const reformatted = Buffer.from(JSON.stringify(JSON.parse(manifest.toString())));
		failure(() => verifyManifestSignature(reformatted, text, signingPublicKey(signer).pem), 'SIGNATURE_INVALID');
	});

	it('refuses an altered signature (manifest unchanged)', () => {
		const document = JSON.parse(signManifest(manifest, signer));
		const bytes = Buffer.from(document.signature, 'base64');
		bytes[10] ^= 1;
		document.signature = bytes.toString('base64');
		const error = failure(
			() => verifyManifestSignature(manifest, JSON.stringify(document), signingPublicKey(signer).base64),
			'SIGNATURE_INVALID',
		);
		expect(error.message).toMatch(/signature itself was altered/);
	});

	it('refuses a set signed by another key, naming the trusted fingerprints and the one found', () => {
		const text = signManifest(manifest, other);
		const error = failure(
			() => verifyManifestSignature(manifest, text, signingPublicKey(signer).pem, { name: SET }),
			'SIGNER_UNTRUSTED',
		);
		expect(error.code).toBe('VERIFY_FAILED');
		expect(error.message).toContain(SET);
		expect(error.message).toContain(`signed by key ${signingPublicKey(other).fingerprint}`);
		expect(error.message).toContain(`trusted: ${signingPublicKey(signer).fingerprint}`);
	});

	it('is not fooled by a signature file that claims a trusted key fingerprint', () => {
		const document = JSON.parse(signManifest(manifest, other));
		document.keyFingerprint = signingPublicKey(signer).fingerprint;
		failure(
			() => verifyManifestSignature(manifest, JSON.stringify(document), signingPublicKey(signer).pem),
			'SIGNATURE_INVALID',
		);
	});

	it('an unsigned set has its own reason, for the caller to require an explicit opt-in', () => {
		const error = failure(
			() => verifyManifestSignature(manifest, undefined, signingPublicKey(signer).pem, { name: SET }),
			'SIGNATURE_MISSING',
		);
		expect(error.message).toContain(SET);
		expect(error.message).toContain(signingPublicKey(signer).fingerprint);
		expect(error.hint).toMatch(/opt-in/);
	});

	it.each([
		['empty', ''],
		['not JSON', 'ed25519 abc'],
		['an array', '[]'],
		['null', 'null'],
		['another format', JSON.stringify({ format: 'minisign' })],
		['another algorithm', () => JSON.stringify({ ...JSON.parse(signManifest(manifest, signer)), algorithm: 'rsa' })],
		['a short signature', () => JSON.stringify({ ...JSON.parse(signManifest(manifest, signer)), signature: 'AAAA' })],
		[
			'no fingerprint',
			() => JSON.stringify({ ...JSON.parse(signManifest(manifest, signer)), keyFingerprint: undefined }),
		],
	])('refuses a malformed signature file (%s)', (_what, content) => {
		const text = typeof content === 'function' ? content() : content;
		const error = failure(
			() => verifyManifestSignature(manifest, text, signingPublicKey(signer).pem, { name: SET }),
			'SIGNATURE_MALFORMED',
		);
		expect(error.message).toContain(SET);
	});

	it('refuses an empty or malformed trusted key list', () => {
		const text = signManifest(manifest, signer);
		expect(failure(() => verifyManifestSignature(manifest, text, []), 'PUBLIC_KEY_INVALID').code).toBe('INVALID_INPUT');
		failure(() => verifyManifestSignature(manifest, text, '# none\n'), 'PUBLIC_KEY_INVALID');
		failure(() => verifyManifestSignature(manifest, text, 'not-a-key'), 'PUBLIC_KEY_INVALID');
		const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
			.publicKey.export({ format: 'pem', type: 'spki' })
			.toString();
		expect(failure(() => parseSigningPublicKeys(rsa), 'PUBLIC_KEY_INVALID').message).toMatch(/not an Ed25519/);
		failure(() => parseSigningPublicKeys('-----BEGIN PUBLIC KEY-----\nAAAA'), 'PUBLIC_KEY_INVALID');
	});
});
