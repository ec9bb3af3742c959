export default async function globalTeardown(): Promise<void> {
  const db = (globalThis as { __billingTestDb?: { stop(): Promise<void> } }).__billingTestDb;
  await db?.stop();
}
