/** Test keys shared by the sealing unit tests (not secrets: made for these tests only). */
// A key pair made by `age-keygen` (age 1.1.1) for these tests only: checks our X25519 and
// bech32 against the reference without spawning it.
export const KEYGEN_FILE = `# created: 2026-12-05T14:57:38Z
# public key: age1a4hz2t6adlup5rpm450tr4r7e00fy2de4e7ygtp8q02gyt9kay4sckd468
AGE-SECRET-KEY-1RQY4G7MAN2SQMQ82GSV4UV9SK6V7EP23W8YP6JFR3VVY4G0CKS4SSFCQW4
`;
export const KEYGEN_IDENTITY = 'AGE-SECRET-KEY-1RQY4G7MAN2SQMQ82GSV4UV9SK6V7EP23W8YP6JFR3VVY4G0CKS4SSFCQW4';
export const KEYGEN_RECIPIENT = 'age1a4hz2t6adlup5rpm450tr4r7e00fy2de4e7ygtp8q02gyt9kay4sckd468';
