/**
 * Manifest signatures against OpenSSL: keys made by `openssl genpkey -algorithm ed25519` are
 * read as is, our public key matches `openssl pkey -pubout`, and a signature is plain Ed25519
 * over the manifest's exact bytes (OpenSSL verifies ours, we verify OpenSSL's).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	isSealingError,
	parseSigningPublicKeys,
	signManifest,
	signingPublicKey,
	verifyManifestSignature,
} from '../../../core/sealing';

// `pkeyutl -rawin` (signing raw data with Ed25519) needs OpenSSL 3.
const version = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const usable = version.status === 0 && /^OpenSSL [3-9]\./.test(version.stdout);
const suite = usable
	? describe.bind(null, 'Ed25519 manifest signatures with OpenSSL keys')
	: describe.skip.bind(null, 'skipped: OpenSSL 3 (openssl pkeyutl -rawin) not installed');

suite(() => {
	let dir: string;
	const file = (name: string) => join(dir, name);
	const openssl = (args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

	beforeAll(async () => {
		dir = await mkdtemp(join(tmpdir(), 'totvs-sign-'));
		for (const name of ['signing-key.pem', 'other-key.pem']) {
			expect(openssl(['genpkey', '-algorithm', 'ed25519', '-out', file(name)]).status).toBe(0);
			expect(openssl(['pkey', '-in', file(name), '-pubout', '-out', file(`${name}.pub`)]).status).toBe(0);
		}
		await writeFile(
			file('manifest.json'),
			JSON.stringify({ backupId: 'prod-20261126T020000Z-full-db', artifacts: [] }, null, '\t') + '\n',
		);
	});
	afterAll(async () => {
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	it('reads the key openssl made and derives the public key openssl prints', async () => {
		const pub = signingPublicKey(await readFile(file('signing-key.pem'), 'utf8'));
		expect(pub.pem).toBe(await readFile(file('signing-key.pem.pub'), 'utf8'));
		// The raw key is the last 32 bytes of the DER SubjectPublicKeyInfo.
		const der = execFileSync('openssl', ['pkey', '-pubin', '-in', file('signing-key.pem.pub'), '-outform', 'DER']);
		expect(pub.base64).toBe(der.subarray(-32).toString('base64'));
	});

	it('openssl verifies our signature over the exact manifest bytes, and refuses it for edited bytes', async () => {
		const manifest = await readFile(file('manifest.json'));
		const signature = JSON.parse(signManifest(manifest, await readFile(file('signing-key.pem'), 'utf8')));
		await writeFile(file('manifest.sig.bin'), Buffer.from(signature.signature, 'base64'));
		const verifyArgs = (data: string) => [
			'pkeyutl',
			'-verify',
			'-pubin',
			'-inkey',
			file('signing-key.pem.pub'),
			'-rawin',
			'-in',
			data,
			'-sigfile',
			file('manifest.sig.bin'),
		];
		expect(openssl(verifyArgs(file('manifest.json'))).stdout).toMatch(/Signature Verified Successfully/);
		await writeFile(file('edited.json'), Buffer.concat([manifest, Buffer.from(' ')]));
		expect(openssl(verifyArgs(file('edited.json'))).status).not.toBe(0);
	});

	it('we verify a signature openssl made, with the public key file as trusted key', async () => {
		const manifest = await readFile(file('manifest.json'));
		const made = openssl([
			'pkeyutl',
			'-sign',
			'-inkey',
			file('signing-key.pem'),
			'-rawin',
			'-in',
			file('manifest.json'),
			'-out',
			file('openssl.sig'),
		]);
		expect(made.status).toBe(0);
		const ours = JSON.parse(signManifest(manifest, await readFile(file('signing-key.pem'), 'utf8')));
		const sig = JSON.stringify({ ...ours, signature: (await readFile(file('openssl.sig'))).toString('base64') });
		// Ed25519 is deterministic: the same key and bytes give the same signature.
		expect(JSON.parse(sig).signature).toBe(ours.signature);
		const trusted = await readFile(file('signing-key.pem.pub'), 'utf8');
		expect(verifyManifestSignature(manifest, sig, trusted).keyFingerprint).toBe(
			parseSigningPublicKeys(trusted)[0].fingerprint,
		);
	});

	it('a set signed with another openssl key is refused, naming both fingerprints', async () => {
		const manifest = await readFile(file('manifest.json'));
		const sig = signManifest(manifest, await readFile(file('other-key.pem'), 'utf8'));
		const trusted = await readFile(file('signing-key.pem.pub'), 'utf8');
		try {
			verifyManifestSignature(manifest, sig, trusted, { name: 'set prod-20261126T020000Z-full-db' });
			throw new Error('verified');
		} catch (error) {
			if (!isSealingError(error)) throw error;
			expect(error.reason).toBe('SIGNER_UNTRUSTED');
			expect(error.message).toContain(signingPublicKey(await readFile(file('other-key.pem'), 'utf8')).fingerprint);
			expect(error.message).toContain(parseSigningPublicKeys(trusted)[0].fingerprint);
		}
	});
});
