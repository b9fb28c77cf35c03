/**
 * SSH host key fingerprints: the pin a credential holds, as users paste it, and the digests of
 * the key a server shows. Accepted: what `ssh-keygen -lf` prints, whole lines or the fingerprint
 * alone, several lines (`ssh-keyscan host | ssh-keygen -lf -`: the server may show any of those
 * keys), in the SHA256 form or OpenSSH's older MD5 form (compared against the key's MD5; SHA256 is
 * preferred, and the credential test says so).
 */
import { createHash } from 'node:crypto';
import { BackupError } from '../../errors';

/** `SHA256:<base64, no padding>` of an SSH public key blob, exactly as `ssh-keygen -lf` prints it. */
export function sshFingerprint(keyBlob: Buffer): string {
	return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** `MD5:aa:bb:…` of an SSH public key blob, as `ssh-keygen -E md5 -lf` prints it. */
export function md5Fingerprint(keyBlob: Buffer): string {
	return `MD5:${createHash('md5').update(keyBlob).digest('hex').match(/../g)!.join(':')}`;
}

export interface HostKeyPin {
	/** The pinned fingerprints, for messages: `SHA256:…` (or several, joined by "or"). */
	readonly text: string;
	/** A pin is in the MD5 form (accepted; SHA256 is preferred). */
	readonly md5: boolean;
	matches(keyBlob: Buffer): boolean;
	/** The fingerprint(s) of a key in the forms pinned here: SHA256, and MD5 when an MD5 pin is used. */
	describeKey(keyBlob: Buffer): string;
}

const SHA256_PIN = /^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$/i;
const MD5_PIN = /^(?:MD5:)?((?:[0-9a-f]{2}:){15}[0-9a-f]{2})$/i;

/** The fingerprint a token is, in the canonical form, or undefined. */
function fingerprintOf(token: string): { sha256: string } | { md5: string } | undefined {
	const sha = SHA256_PIN.exec(token);
	// Only the "SHA256" prefix is case-insensitive: base64 itself is not.
	if (sha) return { sha256: `SHA256:${sha[1]}` };
	const md5 = MD5_PIN.exec(token);
	if (md5) return { md5: `MD5:${md5[1].toLowerCase()}` };
	return undefined;
}

function invalidPin(): BackupError {
	return new BackupError(
		'INVALID_INPUT',
		'The pinned host key is not an SSH host key fingerprint',
		'Paste what `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the server (a line like `256 SHA256:… root@host (ED25519)`, or only its SHA256:… part), or the lines of `ssh-keyscan host | ssh-keygen -lf -`. The MD5 form (MD5:aa:bb:…) is accepted too; SHA256 is preferred.',
	);
}

/** Parses the pinned host key as the user gave it; INVALID_INPUT when no line holds a fingerprint. */
export function parseHostKeyPin(value: string): HostKeyPin {
	const sha256 = new Set<string>();
	const md5 = new Set<string>();
	for (const line of value.split(/\r?\n/)) {
		if (!line.trim()) continue;
		// The first fingerprint on the line: after the key size of an ssh-keygen line, or alone.
		const found = line
			.trim()
			.split(/\s+/)
			.map(fingerprintOf)
			.find((candidate) => candidate !== undefined);
		if (!found) throw invalidPin();
		if ('sha256' in found) sha256.add(found.sha256);
		else md5.add(found.md5);
	}
	if (sha256.size + md5.size === 0) throw invalidPin();
	return {
		text: [...sha256, ...md5].join(' or '),
		md5: md5.size > 0,
		matches: (keyBlob) => sha256.has(sshFingerprint(keyBlob)) || (md5.size > 0 && md5.has(md5Fingerprint(keyBlob))),
		describeKey: (keyBlob) =>
			md5.size > 0 ? `${sshFingerprint(keyBlob)} (${md5Fingerprint(keyBlob)})` : sshFingerprint(keyBlob),
	};
}

/** What a credential test should tell about the pinned host key (an MD5 pin: SHA256 is preferred). */
export function hostKeyNotes(value: string): string[] {
	const pin = parseHostKeyPin(value);
	if (!pin.md5) return [];
	return [
		`The pinned host key is an MD5 fingerprint: accepted, but SHA256 is preferred (MD5 is a weak hash). Paste the SHA256:… line \`ssh-keygen -lf\` prints on the server instead.`,
	];
}
