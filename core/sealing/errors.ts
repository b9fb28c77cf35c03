import { BackupError, type BackupErrorCode } from '../errors';

/**
 * Why a sealing operation failed, finer than BackupError's code so a caller can act on it:
 * SIGNATURE_MISSING is the one to turn into "unsigned set: needs explicit opt-in";
 * NO_MATCHING_IDENTITY into "wrong key: give the identity for these fingerprints".
 */
export type SealingReason =
	// bad keys or arguments from the user (BackupError code INVALID_INPUT)
	| 'RECIPIENT_INVALID'
	| 'NO_RECIPIENTS'
	| 'IDENTITY_INVALID'
	| 'NO_IDENTITIES'
	| 'SIGNING_KEY_INVALID'
	| 'PUBLIC_KEY_INVALID'
	// the identities given cannot open the file (AUTH_FAILED)
	| 'NO_MATCHING_IDENTITY'
	// the ciphertext is not what was written (VERIFY_FAILED)
	| 'NOT_AGE_FILE'
	| 'HEADER_INVALID'
	| 'HEADER_MAC_MISMATCH'
	| 'PAYLOAD_DAMAGED'
	| 'PAYLOAD_TRUNCATED'
	// detached manifest signatures (VERIFY_FAILED)
	| 'SIGNATURE_MISSING'
	| 'SIGNATURE_MALFORMED'
	| 'SIGNATURE_INVALID'
	| 'SIGNER_UNTRUSTED';

const codeOf: Record<SealingReason, BackupErrorCode> = {
	RECIPIENT_INVALID: 'INVALID_INPUT',
	NO_RECIPIENTS: 'INVALID_INPUT',
	IDENTITY_INVALID: 'INVALID_INPUT',
	NO_IDENTITIES: 'INVALID_INPUT',
	SIGNING_KEY_INVALID: 'INVALID_INPUT',
	PUBLIC_KEY_INVALID: 'INVALID_INPUT',
	NO_MATCHING_IDENTITY: 'AUTH_FAILED',
	NOT_AGE_FILE: 'VERIFY_FAILED',
	HEADER_INVALID: 'VERIFY_FAILED',
	HEADER_MAC_MISMATCH: 'VERIFY_FAILED',
	PAYLOAD_DAMAGED: 'VERIFY_FAILED',
	PAYLOAD_TRUNCATED: 'VERIFY_FAILED',
	SIGNATURE_MISSING: 'VERIFY_FAILED',
	SIGNATURE_MALFORMED: 'VERIFY_FAILED',
	SIGNATURE_INVALID: 'VERIFY_FAILED',
	SIGNER_UNTRUSTED: 'VERIFY_FAILED',
};

/**
 * A BackupError from core/sealing. `code` is the general BackupErrorCode nodes already map;
 * `reason` says exactly what failed. Messages never contain key material (secret keys are
 * never echoed, not even in part).
 */
export class SealingError extends BackupError {
	constructor(
		readonly reason: SealingReason,
		message: string,
		hint: string,
		options?: { cause?: unknown },
	) {
		super(codeOf[reason], message, hint, options);
		this.name = 'SealingError';
	}
}

/** True when `error` is a SealingError (optionally: with this reason). */
export function isSealingError(error: unknown, reason?: SealingReason): error is SealingError {
	return error instanceof SealingError && (reason === undefined || error.reason === reason);
}
