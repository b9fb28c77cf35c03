/**
 * Sealing: age encryption of artifacts (X25519 recipients, streamed) and Ed25519 signatures of
 * manifests, both on node:crypto. The only entry point of core/sealing.
 */
export { SealingError, isSealingError, type SealingReason } from './errors';
export {
	parseRecipients,
	parseIdentities,
	recipientFromIdentity,
	recipientFingerprint,
	generateAgeIdentity,
	type AgeRecipient,
	type AgeIdentity,
} from './keys';
export {
	AGE_CHUNK_SIZE,
	ageEncryptedSize,
	createEncryptStream,
	createDecryptStream,
	AgeEncryptStream,
	AgeDecryptStream,
	type DecryptOptions,
} from './age';
export {
	SIGNATURE_SUFFIX,
	parseSigningKey,
	signingPublicKey,
	parseSigningPublicKeys,
	signManifest,
	verifyManifestSignature,
	type SigningKey,
	type SigningPublicKey,
	type SignatureFile,
	type VerifiedSignature,
} from './signing';
