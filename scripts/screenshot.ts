/**
 * `npm run screenshot`: the nightly example in a real n8n editor, photographed by a real
 * browser, into docs/nightly-workflow.png (the picture in the README). Re-run it whenever the
 * example or the nodes' look change. `npm run screenshot -- examples/<file>.json <out>.png` takes
 * another example.
 *
 * - The browser is Debian's `chromium` (apt), driven by playwright-core: no browser download.
 *   Installed here when missing and running as root; otherwise the script says what to run.
 * - n8n runs on a fresh temporary user folder with this package packed and installed; the owner
 *   account is set up through the editor's own endpoint and its session cookie given to the
 *   browser.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
	importCredentials,
	importWorkflow,
	instanceWithThisPackage,
	REPO_ROOT,
	setupOwner,
	startN8n,
	type CredentialToImport,
} from '../support/n8n-env';

const CHROMIUM = '/usr/bin/chromium';
// `npm run screenshot -- <example.json> <output.png>` photographs another example (e.g. to check a layout).
const EXAMPLE = path.resolve(process.argv[2] ?? path.join(REPO_ROOT, 'examples', 'nightly-postgres-backup.json'));
const OUTPUT = path.resolve(process.argv[3] ?? path.join(REPO_ROOT, 'docs', 'nightly-workflow.png'));
const VIEWPORT = { width: 1680, height: 860 };

/** Flags for a headless Chromium in a container with no GPU, no sandbox and no network but loopback. */
const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

function ensureChromium(): void {
	if (existsSync(CHROMIUM)) return;
	const isRoot = process.getuid?.() === 0;
	if (!isRoot) {
		console.error(
			`Chromium is missing (${CHROMIUM}). Install Debian's package and run this again:\n  sudo apt-get install chromium`,
		);
		process.exit(1);
	}
	console.log(`Chromium is missing (${CHROMIUM}): installing Debian's chromium package with apt-get (about 300 MB)…`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
		const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
		if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status}).`);
	}
}

interface ExampleWorkflow {
	id: string;
	name: string;
	nodes: Array<{ credentials?: Record<string, { id: string; name: string }> }>;
}

/** Data of the placeholder credential of each type the example refers to (never used to connect). */
const PLACEHOLDER_DATA: Record<string, Record<string, unknown>> = {
	totvsPostgres: {
		host: 'db.example.com',
		port: 5432,
		database: 'protheus',
		user: 'totvs_backup',
		password: 'placeholder',
		sslMode: 'disable',
		binFolder: '',
	},
	totvsSftp: {
		host: 'backup.example.com',
		port: 22,
		username: 'totvs',
		authentication: 'password',
		password: 'placeholder',
		hostFingerprint: 'SHA256:placeholder',
		folder: '',
	},
	totvsGoogleDriveApi: { authentication: 'serviceAccount', serviceAccountJson: '{}', folderId: 'placeholder' },
	slackApi: { accessToken: 'xoxb-placeholder' },
};

function placeholderCredentials(example: ExampleWorkflow): CredentialToImport[] {
	const refs = new Map(
		example.nodes.flatMap((node) =>
			Object.entries(node.credentials ?? {}).map(([type, ref]) => [ref.id, { type, ...ref }] as const),
		),
	);
	return [...refs.values()].map(({ id, name, type }) => {
		const data = PLACEHOLDER_DATA[type];
		if (!data)
			throw new Error(
				`${path.basename(EXAMPLE)} uses a ${type} credential: add placeholder data for it to PLACEHOLDER_DATA in scripts/screenshot.ts.`,
			);
		return { id, name, type, data };
	});
}

async function main(): Promise<void> {
	ensureChromium();
	const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as ExampleWorkflow;
	const instance = await instanceWithThisPackage();
	const browserProfile = mkdtempSync(path.join(os.tmpdir(), 'totvs-chromium-'));
	let n8n: Awaited<ReturnType<typeof startN8n>> | undefined;
	try {
		// Placeholder credentials (nothing is executed), so the editor shows no "credential missing" warnings.
		await importCredentials(instance, placeholderCredentials(example));
		await importWorkflow(instance, example);
		n8n = await startN8n(instance);
		const cookie = await setupOwner(n8n.url);
		const [name, value] = cookie.split(/=(.*)/s);

		const context = await chromium.launchPersistentContext(browserProfile, {
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_FLAGS,
			viewport: VIEWPORT,
			deviceScaleFactor: 1,
		});
		try {
			await context.addCookies([{ name, value, url: n8n.url }]);
			const page = context.pages()[0] ?? (await context.newPage());
			await page.goto(`${n8n.url}/workflow/${example.id}`, { waitUntil: 'networkidle', timeout: 120_000 });
			const nodes = page.locator('[data-test-id="canvas-node"]');
			await nodes.first().waitFor({ timeout: 60_000 });
			// Let the canvas fit the view and the fonts and icons settle.
			await page.keyboard.press('Escape');
			await page.waitForTimeout(1500);
			await page.keyboard.press('1'); // n8n's "zoom to fit"
			await page.waitForTimeout(1000);
			mkdirSync(path.dirname(OUTPUT), { recursive: true });
			await page.screenshot({ path: OUTPUT });
			console.log(
				`Screenshot of "${example.name}" (${await nodes.count()} nodes on the canvas): ${path.relative(REPO_ROOT, OUTPUT)}`,
			);
		} finally {
			await context.close();
		}
	} finally {
		await n8n?.stop();
		rmSync(browserProfile, { recursive: true, force: true });
		rmSync(instance.userFolder, { recursive: true, force: true });
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
