import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { bech32Decode, bech32Encode } from '../../../core/sealing/bech32';
import {
	generateAgeIdentity,
	isSealingError,
	parseIdentities,
	parseRecipients,
	recipientFingerprint,
	recipientFromIdentity,
	type SealingReason,
} from '../../../core/sealing';
import { KEYGEN_FILE, KEYGEN_IDENTITY, KEYGEN_RECIPIENT } from './fixtures';

/** Runs `fn`, expects a SealingError with `reason`, and returns it. */
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

/** No run of 8 characters of `secret` (past its fixed prefix) appears in the error's text. */
function expectNoSecret(error: Error & { hint?: string }, secret: string) {
	const text = `${error.message}\n${error.hint ?? ''}`;
	const body = secret.replace(/^AGE-SECRET-KEY-1/i, '');
	for (let i = 0; i + 8 <= body.length; i++) {
		expect(text.toUpperCase()).not.toContain(body.slice(i, i + 8).toUpperCase());
	}
}

describe('bech32', () => {
	it('accepts the BIP-173 valid test vectors', () => {
		for (const valid of [
			'A12UEL5L',
			'a12uel5l',
			'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
			'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
			'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
			'?1ezyfcl',
		]) {
			expect(bech32Decode(valid)).toMatchObject({ ok: true });
		}
	});

	it('rejects the BIP-173 invalid vectors and mixed case', () => {
		for (const invalid of [
			'\x201nwldj5',
			'pzry9x0s0muk',
			'1pzry9x0s0muk',
			'x1b4n0q5v',
			'li1dgmt3',
			'A1G7SGD8',
			'10a06t8',
			'1qzzfhee',
			'A12uEL5L',
		]) {
			expect(bech32Decode(invalid)).toMatchObject({ ok: false });
		}
	});

	it('round-trips any bytes', () => {
		fc.assert(
			fc.property(
				fc.uint8Array({ minLength: 0, maxLength: 64 }),
				fc.constantFrom('age', 'age-secret-key-'),
				(data, hrp) => {
					const decoded = bech32Decode(bech32Encode(hrp, data));
					expect(decoded).toMatchObject({ ok: true, hrp });
					if (decoded.ok) expect([...decoded.data]).toEqual([...data]);
				},
			),
		);
	});

	it('detects any single mistyped character of a recipient', () => {
		const recipient = generateAgeIdentity().recipient;
		const alphabet = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
		for (let i = 4; i < recipient.length; i++) {
			const other = alphabet[(alphabet.indexOf(recipient[i]) + 1) % 32];
			expect(bech32Decode(recipient.slice(0, i) + other + recipient.slice(i + 1)).ok).toBe(false);
		}
	});
});

describe('age recipients', () => {
	it('derives the public key age-keygen printed, and fingerprints it', () => {
		expect(recipientFromIdentity(KEYGEN_FILE)).toBe(KEYGEN_RECIPIENT);
		expect(recipientFromIdentity(KEYGEN_IDENTITY)).toBe(KEYGEN_RECIPIENT);
		const decoded = bech32Decode(KEYGEN_RECIPIENT);
		if (!decoded.ok) throw new Error('bad vector');
		const expected = createHash('sha256').update(decoded.data).digest('hex').slice(0, 16);
		expect(recipientFingerprint(KEYGEN_RECIPIENT)).toBe(expected);
		expect(recipientFingerprint(`  ${KEYGEN_RECIPIENT}\n`)).toBe(expected);
		expect(parseIdentities(KEYGEN_FILE)[0].recipient.fingerprint).toBe(expected);
	});

	it('reads one per line and in lists, skips comments and blank lines, drops duplicates', () => {
		const a = generateAgeIdentity();
		const b = generateAgeIdentity();
		const parsed = parseRecipients([
			`# main\n${a.recipient}\r\n\n# escrow, in the safe\n  ${b.recipient}  \n`,
			a.recipient,
		]);
		expect(parsed.map((r) => r.text)).toEqual([a.recipient, b.recipient]);
		expect(parsed.map((r) => r.fingerprint)).toEqual([a.fingerprint, b.fingerprint]);
		expect(parsed[0].publicKey).toHaveLength(32);
	});

	it('refuses an empty list before anything is encrypted', () => {
		expect(failure(() => parseRecipients(''), 'NO_RECIPIENTS').code).toBe('INVALID_INPUT');
		failure(() => parseRecipients(['# only a comment', '  ']), 'NO_RECIPIENTS');
	});

	it('refuses a private key among the recipients without repeating it', () => {
		const { identity } = generateAgeIdentity();
		const error = failure(() => parseRecipients([generateAgeIdentity().recipient, identity]), 'RECIPIENT_INVALID');
		expect(error.code).toBe('INVALID_INPUT');
		expect(error.message).toMatch(/line 2 .*private key/);
		expect(error.hint).toMatch(/age-keygen -y/);
		expectNoSecret(error, identity);
		expectNoSecret(
			failure(() => parseRecipients(identity.toLowerCase()), 'RECIPIENT_INVALID'),
			identity,
		);
	});

	it.each([
		['an SSH key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO0nE6vN9P8Ga7lLqgXqJ3e4Z9ZAa4W4bP3y8lOJ4aUq user@host', /SSH/],
		['a post-quantum recipient', 'age1pq1' + 'q'.repeat(100), /only X25519/],
		['a plugin recipient', 'age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t', /plugin/],
		['a recipient with a typo', KEYGEN_RECIPIENT.slice(0, 20) + 'q' + KEYGEN_RECIPIENT.slice(21), /checksum/],
		['a cut recipient', KEYGEN_RECIPIENT.slice(0, 40), /checksum/],
		['an upper-case recipient', KEYGEN_RECIPIENT.toUpperCase(), /lower case/],
		['another bech32 prefix', bech32Encode('bc', randomBytes(32)), /age1/],
		['a key of the wrong length', bech32Encode('age', randomBytes(31)), /31 bytes/],
		['a word that is no key', 'mypublickey', /separator/],
		['two keys on one line', `${KEYGEN_RECIPIENT} ${KEYGEN_RECIPIENT}`, /space/],
	])('refuses %s, naming the line', (_what, text, pattern) => {
		const error = failure(() => parseRecipients(`# recipients\n${text}`), 'RECIPIENT_INVALID');
		expect(error.message).toContain('line 2');
		expect(error.message).toMatch(pattern);
		expect(error.hint).toMatch(/age-keygen/);
	});
});

describe('age identities', () => {
	it('reads age-keygen files (comments kept) and several identities', () => {
		const other = generateAgeIdentity();
		const parsed = parseIdentities([KEYGEN_FILE, `${other.identity}\n`]);
		expect(parsed.map((i) => i.recipient.text)).toEqual([KEYGEN_RECIPIENT, other.recipient]);
		expect(parsed[0].privateKey.type).toBe('private');
	});

	it('keeps the secret out of anything that could be logged', () => {
		const [identity] = parseIdentities(KEYGEN_FILE);
		expectNoSecret(Object.assign(new Error(JSON.stringify(identity)), { hint: String(identity) }), KEYGEN_IDENTITY);
	});

	it('generates pairs that round-trip', () => {
		const pair = generateAgeIdentity();
		expect(pair.identity).toMatch(/^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
		expect(recipientFromIdentity(pair.identity)).toBe(pair.recipient);
		expect(recipientFingerprint(pair.recipient)).toBe(pair.fingerprint);
	});

	it('refuses an empty list', () => {
		failure(() => parseIdentities('# created: today\n'), 'NO_IDENTITIES');
	});

	const typo = (s: string, i: number) => s.slice(0, i) + (s[i] === 'Q' ? 'P' : 'Q') + s.slice(i + 1);
	it.each([
		['a public key', KEYGEN_RECIPIENT, /public key/],
		['a lower-case identity', KEYGEN_IDENTITY.toLowerCase(), /upper case/],
		['an identity with a typo', typo(KEYGEN_IDENTITY, 30), /checksum/],
		['a cut identity', KEYGEN_IDENTITY.slice(0, 60), /checksum/],
		['an identity with a space inside', KEYGEN_IDENTITY.slice(0, 30) + ' ' + KEYGEN_IDENTITY.slice(30), /./],
		['a plugin identity', 'AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ', /plugin/],
		['an SSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----', /SSH/],
		['a key of the wrong length', bech32Encode('age-secret-key-', randomBytes(33)).toUpperCase(), /33 bytes/],
	])('refuses %s without repeating it', (_what, text, pattern) => {
		const error = failure(() => parseIdentities(`# created: today\n${text}\n`), 'IDENTITY_INVALID');
		expect(error.code).toBe('INVALID_INPUT');
		expect(error.message).toContain('line 2');
		expect(error.message).toMatch(pattern);
		expectNoSecret(error, KEYGEN_IDENTITY);
		if (/^age-secret-key-/i.test(text)) expectNoSecret(error, text);
	});
});
