/**
 * Issue 11 item 5: pg_dump / pg_restore get the same TLS trust as the pre-flight connection.
 * With a verify mode and no CA in the credential, the pre-flight trusted the system CAs while
 * libpq looked for ~/.postgresql/root.crt: the pre-flight passed and the dump failed. Both now
 * read the same system bundle. And the credential's default no longer sends a dump in clear to
 * a server that offers TLS.
 */
import { existsSync, readFileSync } from 'node:fs';
import { TotvsPostgres } from '../../../../credentials/TotvsPostgres.credentials';
import {
	childEnvironment,
	systemCaBundle,
	tlsOptions,
	type PostgresConnection,
	type SslMode,
} from '../../../../core/sources/postgres/connection';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const base: PostgresConnection = {
	host: 'db.example',
	port: 5432,
	database: 'protheus',
	user: 'backup',
	password: 'secret',
	sslMode: 'disable',
};
const BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const hasBundle = existsSync(BUNDLE);

async function envFor(sslMode: SslMode, sslCa?: string) {
	const { env, dispose } = await childEnvironment({ ...base, sslMode, sslCa });
	const rootCert = env.PGSSLROOTCERT;
	const rootCertText = rootCert && existsSync(rootCert) ? readFileSync(rootCert, 'utf8') : undefined;
	await dispose();
	return { env, rootCertText };
}

describe('child environment and pre-flight TLS for each mode', () => {
	(hasBundle ? it.each(['verify-full', 'verify-ca'] as const) : it.skip.each(['verify-full', 'verify-ca'] as const))(
		`%s without a CA: pg_dump trusts the system bundle, as the pre-flight does (needs ${BUNDLE})`,
		async (mode) => {
			const { env } = await envFor(mode);
			expect(env.PGSSLMODE).toBe(mode);
			expect(systemCaBundle()).toBe(BUNDLE);
			expect(env.PGSSLROOTCERT).toBe(BUNDLE);
			const tls = tlsOptions({ ...base, sslMode: mode });
			expect(tls && tls.rejectUnauthorized).toBe(true);
			expect(tls && String(tls.ca)).toBe(readFileSync(BUNDLE, 'utf8'));
		},
	);

	it.each(['verify-full', 'verify-ca'] as const)('%s with a CA: both trust exactly that CA', async (mode) => {
		const { env, rootCertText } = await envFor(mode, CA);
		expect(env.PGSSLMODE).toBe(mode);
		expect(rootCertText).toBe(CA);
		const tls = tlsOptions({ ...base, sslMode: mode, sslCa: CA });
		expect(tls && tls.ca).toBe(CA);
	});

	it('require encrypts without checking; prefer encrypts when offered; disable is plain', async () => {
		for (const mode of ['require', 'prefer', 'disable'] as const) {
			const { env } = await envFor(mode, CA);
			expect(env.PGSSLMODE).toBe(mode);
			expect(env.PGSSLROOTCERT).toBeUndefined();
		}
		expect(tlsOptions({ ...base, sslMode: 'require' })).toEqual({ rejectUnauthorized: false });
		expect(tlsOptions({ ...base, sslMode: 'prefer' })).toEqual({ rejectUnauthorized: false });
		expect(tlsOptions({ ...base, sslMode: 'disable' })).toBe(false);
	});

	it("the credential's default encrypts whenever the server offers TLS", () => {
		const ssl = new TotvsPostgres().properties.find((p) => p.name === 'sslMode');
		expect(ssl?.default).toBe('prefer');
		expect((ssl?.options as Array<{ value: string }>).map((o) => o.value)).toContain('prefer');
	});
});
