/**
 * SSH host key fingerprints: the pinned value a credential holds, and the one a server shows.
 */
import { createHash } from 'node:crypto';

/** `SHA256:<base64, no padding>` of an SSH public key blob, exactly as `ssh-keygen -lf` prints it. */
export function sshFingerprint(keyBlob: Buffer): string {
	return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The pinned fingerprint in the form `sshFingerprint` gives. */
export function normalizeFingerprint(value: string): string {
	const trimmed = value.trim();
	const body = trimmed.replace(/^SHA256:/i, '').replace(/=+$/, '');
	return `SHA256:${body}`;
}
