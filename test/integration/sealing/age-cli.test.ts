/**
 * Interoperability with the reference `age` command (Debian package `age`), both directions,
 * with keys made by `age-keygen`: what we write, age decrypts byte-exact; what age writes, we
 * decrypt byte-exact; and what either side damages, both refuse.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
	AGE_CHUNK_SIZE,
	ageEncryptedSize,
	createDecryptStream,
	createEncryptStream,
	isSealingError,
	parseIdentities,
	recipientFingerprint,
	recipientFromIdentity,
	type DecryptOptions,
	type SealingReason,
} from '../../../core/sealing';

const missing = ['age', 'age-keygen'].filter((tool) => spawnSync(tool, ['--version']).status !== 0);
const suite = missing.length
	? describe.skip.bind(
			null,
			`skipped: ${missing.join(' and ')} not installed (apt-get install age; scripts/setup.sh does)`,
		)
	: describe.bind(null, 'age CLI interoperability');

const MiB = 1024 * 1024;
const SIZES = [0, 1, AGE_CHUNK_SIZE - 1, AGE_CHUNK_SIZE, AGE_CHUNK_SIZE + 1, 5 * MiB + 3];

interface Key {
	file: string;
	text: string;
	recipient: string;
}

suite(() => {
	let dir: string;
	let keys: Key[];
	let n = 0;
	const path = (name: string) => join(dir, `${n++}-${name}`);

	/** `age-keygen -o file`; the public key from its stderr line and `age-keygen -y`. */
	async function keygen(): Promise<Key> {
		const file = path('key.txt');
		const result = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
		expect(result.status).toBe(0);
		const recipient = /Public key: (age1\S+)/.exec(result.stderr)![1];
		expect(execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim()).toBe(recipient);
		return { file, text: await readFile(file, 'utf8'), recipient };
	}

	function age(args: string[]) {
		const result = spawnSync('age', args, { encoding: 'utf8' });
		return { ok: result.status === 0, stderr: result.stderr };
	}

	async function plaintextFile(size: number): Promise<string> {
		const file = path('plain.bin');
		await writeFile(file, randomBytes(size));
		return file;
	}

	async function sha256(file: string): Promise<string> {
		const hash = createHash('sha256');
		for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
		return hash.digest('hex');
	}

	async function ourEncrypt(input: string, recipients: string[]): Promise<string> {
		const output = path('ours.age');
		await pipeline(createReadStream(input), createEncryptStream(recipients), createWriteStream(output));
		return output;
	}

	async function ourDecrypt(input: string, identities: string[], options?: DecryptOptions): Promise<string> {
		const output = path('ours.out');
		await pipeline(createReadStream(input), createDecryptStream(identities, options), createWriteStream(output));
		return output;
	}

	async function ourDecryptFails(input: string, identities: string[], reason: SealingReason, options?: DecryptOptions) {
		try {
			await ourDecrypt(input, identities, options);
		} catch (error) {
			if (!isSealingError(error)) throw error;
			expect(error.reason).toBe(reason);
			return error;
		}
		throw new Error(`expected ${reason}, decryption succeeded`);
	}

	async function damaged(file: string, edit: (data: Buffer) => Buffer): Promise<string> {
		const out = path('damaged.age');
		await writeFile(out, edit(await readFile(file)));
		return out;
	}

	beforeAll(async () => {
		dir = await mkdtemp(join(tmpdir(), 'totvs-age-cli-'));
		keys = [await keygen(), await keygen(), await keygen()];
	});
	afterAll(async () => {
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	it('derives from an age-keygen file the recipient age-keygen -y prints', () => {
		for (const key of keys) {
			expect(recipientFromIdentity(key.text)).toBe(key.recipient);
			expect(parseIdentities(key.text)[0].recipient.fingerprint).toBe(recipientFingerprint(key.recipient));
		}
	});

	it.each(SIZES)('%i bytes: we encrypt, `age -d -i key.txt` decrypts byte-exact', async (size) => {
		const input = await plaintextFile(size);
		const sealed = await ourEncrypt(input, [keys[0].recipient]);
		expect((await stat(sealed)).size).toBe(ageEncryptedSize(size, 1));
		const output = path('age.out');
		// To stdout, not -o: age creates the -o file only once it has a byte to write.
		const fd = openSync(output, 'w');
		const result = spawnSync('age', ['-d', '-i', keys[0].file, sealed], {
			stdio: ['ignore', fd, 'pipe'],
			encoding: 'utf8',
		});
		closeSync(fd);
		expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
		expect(await sha256(output)).toBe(await sha256(input));
	});

	it.each(SIZES)('%i bytes: `age -r` encrypts, we decrypt byte-exact', async (size) => {
		const input = await plaintextFile(size);
		const sealed = path('age.age');
		expect(age(['-r', keys[0].recipient, '-o', sealed, input]).ok).toBe(true);
		const stream = createDecryptStream(keys[0].text);
		const output = path('ours.out');
		await pipeline(createReadStream(sealed), stream, createWriteStream(output));
		expect(stream.plaintextBytes).toBe(size);
		expect(stream.openedBy).toBe(recipientFingerprint(keys[0].recipient));
		expect(await sha256(output)).toBe(await sha256(input));
	});

	it("several recipients: each identity opens our file with age, and age's file with ours", async () => {
		const input = await plaintextFile(3 * AGE_CHUNK_SIZE + 7);
		const digest = await sha256(input);
		const ours = await ourEncrypt(input, [keys[0].recipient, keys[1].recipient, keys[2].recipient]);
		for (const key of keys) {
			const output = path('age.out');
			expect(age(['-d', '-i', key.file, '-o', output, ours]).ok).toBe(true);
			expect(await sha256(output)).toBe(digest);
		}
		const recipientsFile = path('recipients.txt');
		await writeFile(recipientsFile, `# main\n${keys[0].recipient}\n# escrow\n${keys[1].recipient}\n`);
		const theirs = path('age.age');
		expect(age(['-R', recipientsFile, '-o', theirs, input]).ok).toBe(true);
		for (const key of [keys[1], keys[0]]) expect(await sha256(await ourDecrypt(theirs, [key.text]))).toBe(digest);
		// An identity list where only the last key fits (rotation: the old key kept for old sets).
		expect(await sha256(await ourDecrypt(theirs, [keys[2].text, keys[1].text]))).toBe(digest);
	});

	it('wrong identity: both sides refuse; ours names the fingerprints', async () => {
		const input = await plaintextFile(1000);
		const theirs = path('age.age');
		expect(age(['-r', keys[0].recipient, '-r', keys[1].recipient, '-o', theirs, input]).ok).toBe(true);
		const expected = [recipientFingerprint(keys[0].recipient), recipientFingerprint(keys[1].recipient)];
		const error = await ourDecryptFails(theirs, [keys[2].text], 'NO_MATCHING_IDENTITY', {
			name: 'db.dump.age',
			recipientFingerprints: expected,
		});
		expect(error.message).toContain('X25519 ×2');
		expect(error.message).toContain(recipientFingerprint(keys[2].recipient));
		expect(error.message).toContain(expected.join(', '));
		expect(error.message + error.hint).not.toContain(
			keys[2].text
				.split('\n')
				.find((l) => l.startsWith('AGE-'))!
				.slice(16),
		);
		const ours = await ourEncrypt(input, [keys[0].recipient]);
		expect(age(['-d', '-i', keys[2].file, ours]).ok).toBe(false);
	});

	it("truncated: both sides refuse our file and age's", async () => {
		const input = await plaintextFile(3 * AGE_CHUNK_SIZE);
		const theirs = path('age.age');
		expect(age(['-r', keys[0].recipient, '-o', theirs, input]).ok).toBe(true);
		const ours = await ourEncrypt(input, [keys[0].recipient]);
		for (const file of [theirs, ours]) {
			const header = (await readFile(file)).indexOf('\n---') + 49;
			const atBoundary = await damaged(file, (d) => d.subarray(0, header + 16 + 2 * (AGE_CHUNK_SIZE + 16)));
			await ourDecryptFails(atBoundary, [keys[0].text], 'PAYLOAD_TRUNCATED');
			expect(age(['-d', '-i', keys[0].file, atBoundary]).ok).toBe(false);
			const inside = await damaged(file, (d) => d.subarray(0, d.length - 100));
			await ourDecryptFails(inside, [keys[0].text], 'PAYLOAD_DAMAGED');
			expect(age(['-d', '-i', keys[0].file, inside]).ok).toBe(false);
		}
	});

	it('a flipped byte in the payload or the header: both sides refuse, ours names what failed', async () => {
		const input = await plaintextFile(2 * AGE_CHUNK_SIZE + 1);
		const theirs = path('age.age');
		expect(age(['-r', keys[0].recipient, '-o', theirs, input]).ok).toBe(true);
		const ours = await ourEncrypt(input, [keys[0].recipient]);
		for (const file of [theirs, ours]) {
			const data = await readFile(file);
			const macAt = data.indexOf('\n--- ') + 5;
			const payload = await damaged(file, (d) => {
				const copy = Buffer.from(d);
				copy[macAt + 44 + 16 + AGE_CHUNK_SIZE + 16 + 5] ^= 0x80; // inside chunk 1
				return copy;
			});
			const error = await ourDecryptFails(payload, [keys[0].text], 'PAYLOAD_DAMAGED', { name: 'files.tar.zst.age' });
			expect(error.message).toMatch(/"files\.tar\.zst\.age": payload chunk 1 /);
			expect(age(['-d', '-i', keys[0].file, payload]).ok).toBe(false);

			const header = await damaged(file, (d) => {
				const copy = Buffer.from(d);
				copy[macAt + 3] = copy[macAt + 3] === 0x41 ? 0x42 : 0x41; // a different valid base64 character
				return copy;
			});
			await ourDecryptFails(header, [keys[0].text], 'HEADER_MAC_MISMATCH');
			expect(age(['-d', '-i', keys[0].file, header]).ok).toBe(false);
		}
	});

	it('an armored file from `age -a` is refused with a clear message', async () => {
		const input = await plaintextFile(10);
		const armored = path('armored.age');
		expect(age(['-a', '-r', keys[0].recipient, '-o', armored, input]).ok).toBe(true);
		const error = await ourDecryptFails(armored, [keys[0].text], 'NOT_AGE_FILE');
		expect(error.message).toMatch(/armored/);
	});

	it('keys age refuses, we refuse too (recipients that are not age public keys, malformed identities)', async () => {
		const badRecipients = [
			keys[0].recipient.slice(0, -1) + (keys[0].recipient.endsWith('q') ? 'p' : 'q'),
			keys[0].recipient.toUpperCase(),
			keys[0].text.split('\n').find((l) => l.startsWith('AGE-'))!,
			'ssh-rsa AAAA',
		];
		const input = await plaintextFile(10);
		for (const recipient of badRecipients) {
			expect(age(['-r', recipient, '-o', path('x.age'), input]).ok).toBe(false);
			expect(() => createEncryptStream([recipient])).toThrow(expect.objectContaining({ reason: 'RECIPIENT_INVALID' }));
		}
		const secret = keys[0].text.split('\n').find((l) => l.startsWith('AGE-'))!;
		for (const identity of [
			secret.toLowerCase(),
			secret.slice(0, -2),
			secret.replace('AGE-SECRET-KEY-1', 'AGE-SECRET-KEY-2'),
		]) {
			const file = path('bad-key.txt');
			await writeFile(file, `${identity}\n`);
			expect(age(['-d', '-i', file, await ourEncrypt(input, [keys[0].recipient])]).ok).toBe(false);
			expect(() => createDecryptStream(identity)).toThrow(expect.objectContaining({ reason: 'IDENTITY_INVALID' }));
		}
	});
});
