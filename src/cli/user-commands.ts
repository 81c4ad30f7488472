/**
 * `chartchain users add|list|disable|enable|reset-password|reset-mfa|activation-code|end-sessions`: the node's
 * accounts, managed on the node's machine. They work while the node runs (it reads the
 * accounts file at every sign-in and request), so a disable takes effect at once. Secrets are
 * printed once, for the administrator to hand to the user; passwords are never stored.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ACCOUNT_ROLES,
  accountState,
  ACCOUNTS_FILE,
  TOTP_ISSUER,
  AccountStore,
  createAccount,
  isAccountRole,
  reissueActivation,
  resetPassword,
  resetSecondFactor,
  totpUri,
  type AccountRow,
  type IssuedSecrets,
} from '../api/index.js';
import { readNodeConfig } from '../node/index.js';
import { restrictUmask } from '../storage/index.js';

const DEFAULT_DATA = './data';

interface DataFlags {
  readonly data: string;
  readonly passwordStdin?: boolean;
}

/** Opens the accounts file of the node in `dataDir`; throws Error if no node lives there. */
export function openAccounts(dataDir: string): { store: AccountStore; org: string } {
  const dir = resolve(dataDir);
  const config = readNodeConfig(dir);
  if (config === undefined) throw new Error(`${dir} holds no node: run chartchain init first`);
  restrictUmask();
  return { store: new AccountStore(join(dir, ACCOUNTS_FILE)), org: config.orgId };
}

/** The lines that hand `secrets` of `username` to the user. */
export function secretLines(username: string, org: string, secrets: IssuedSecrets): string[] {
  const lines: string[] = [];
  if (secrets.password !== undefined) lines.push(`password: ${secrets.password}`);
  if (secrets.activationCode !== undefined)
    lines.push(
      `activation code: ${secrets.activationCode}`,
      'the user chooses a password with it at /auth/activate on this node, within 14 days',
    );
  if (secrets.totpSecret !== undefined) {
    lines.push(
      `authenticator secret: ${secrets.totpSecret}`,
      `authenticator URI: ${totpUri(TOTP_ISSUER, `${username}@${org}`, secrets.totpSecret)}`,
    );
  }
  if (lines.length > 0) lines.push('hand these to the user now: they are not shown again');
  return lines;
}

/** One line per account, without secrets. */
export function accountLine(account: AccountRow, nowMs: number): string {
  return [
    account.username,
    account.role,
    account.subjectId,
    accountState(account, nowMs),
    account.totpSecret === null ? 'no second factor' : 'TOTP',
  ].join('\t');
}

/** Registers `users` and its subcommands on `program`. */
export function registerUserCommands(program: Command): void {
  const users = program
    .command('users')
    .description(
      "the node's user accounts (passwords hashed with scrypt; TOTP second factor for practitioners and auditors)",
    );
  withData(users.command('add <username>'))
    .description(
      'create an account; prints a generated password (unless --password-stdin) and, where the role needs one, the TOTP secret',
    )
    .requiredOption('--role <role>', `one of ${ACCOUNT_ROLES.join(', ')}`)
    .requiredOption(
      '--id <id>',
      "the user's Practitioner or Person id on the ledger, or a patient's FHIR Patient id (they act under its pseudonym)",
    )
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option(
      '--activation',
      'no password: print a one-time activation code with which the user chooses their own (e.g. a patient)',
    )
    .action(
      async (
        username: string,
        flags: DataFlags & { role: string; id: string; activation?: boolean },
      ) => {
        if (!isAccountRole(flags.role))
          throw new Error(`--role must be one of ${ACCOUNT_ROLES.join(', ')}`);
        const role = flags.role;
        await withAccounts(flags, async (store, org) => {
          const password = await passwordFrom(flags);
          const secrets = await createAccount(
            store,
            {
              username,
              role,
              subjectId: flags.id,
              activation: flags.activation === true,
              ...(password === undefined ? {} : { password }),
            },
            Date.now(),
          );
          return [
            `created ${role} account ${username} for ${flags.id} at ${org}`,
            ...secretLines(username, org, secrets),
          ];
        });
      },
    );
  withData(users.command('list'))
    .description('list the accounts: username, role, id, state, second factor')
    .action(async (flags: DataFlags) =>
      withAccounts(flags, async (store) =>
        store.list().map((account) => accountLine(account, Date.now())),
      ),
    );
  withData(users.command('disable <username>'))
    .description('refuse sign-in and end every session of the account')
    .action(async (username: string, flags: DataFlags) =>
      withAccounts(flags, async (store) => [
        found(
          store.setDisabled(username, true, Date.now()),
          username,
          'disabled; its sessions are ended',
        ),
      ]),
    );
  withData(users.command('enable <username>'))
    .description('allow sign-in again, and clear a lock')
    .action(async (username: string, flags: DataFlags) =>
      withAccounts(flags, async (store) => [
        found(store.setDisabled(username, false, Date.now()), username, 'enabled'),
      ]),
    );
  withData(users.command('reset-password <username>'))
    .description(
      'set a new password (generated unless --password-stdin), clear a lock, end every session',
    )
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (username: string, flags: DataFlags) =>
      withAccounts(flags, async (store, org) => {
        const secrets = await resetPassword(store, username, Date.now(), await passwordFrom(flags));
        return secrets === undefined
          ? [found(false, username, '')]
          : [
              `${username}: password reset; its sessions are ended`,
              ...secretLines(username, org, secrets),
            ];
      }),
    );
  withData(users.command('reset-mfa <username>'))
    .description('replace the TOTP secret (for a lost authenticator) and end every session')
    .action(async (username: string, flags: DataFlags) =>
      withAccounts(flags, async (store, org) => {
        const secrets = resetSecondFactor(store, username, Date.now());
        return secrets === undefined
          ? [found(false, username, '')]
          : [
              `${username}: new authenticator secret; its sessions are ended`,
              ...secretLines(username, org, secrets),
            ];
      }),
    );
  withData(users.command('activation-code <username>'))
    .description(
      'issue a new one-time activation code (voiding the password) and end every session: for a user who never activated, or lost their password',
    )
    .action(async (username: string, flags: DataFlags) =>
      withAccounts(flags, async (store, org) => {
        const secrets = reissueActivation(store, username, Date.now());
        return secrets === undefined
          ? [found(false, username, '')]
          : [
              `${username}: new activation code; its sessions are ended`,
              ...secretLines(username, org, secrets),
            ];
      }),
    );
  withData(users.command('end-sessions <username>'))
    .description('void every token issued to the account so far (signing out everywhere)')
    .action(async (username: string, flags: DataFlags) =>
      withAccounts(flags, async (store) => [
        found(store.endSessions(username, Date.now()), username, 'every session ended'),
      ]),
    );
}

function withData(command: Command): Command {
  return command.option('--data <dir>', 'data directory', DEFAULT_DATA);
}

async function withAccounts(
  flags: DataFlags,
  run: (store: AccountStore, org: string) => Promise<string[]>,
): Promise<void> {
  const { store, org } = openAccounts(flags.data);
  try {
    const lines = await run(store, org);
    if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
  } finally {
    store.close();
  }
}

function found(exists: boolean, username: string, done: string): string {
  if (!exists) throw new Error(`no account named ${username}`);
  return `${username}: ${done}`;
}

/** The password on standard input (its first line), when --password-stdin asks for it. */
async function passwordFrom(flags: DataFlags): Promise<string | undefined> {
  if (flags.passwordStdin !== true) return undefined;
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.split(/\r?\n/)[0];
}
