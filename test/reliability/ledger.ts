/**
 * What the hostile catalogue (f) sent that must never come back out: card numbers and one-click
 * tokens. The runner makes one ledger per run and hands it to every scenario, so the leak scan (g)
 * knows what to look for; no scenario keeps state of its own between runs.
 */
export class SentLedger {
  /** Card numbers sent (Luhn-valid test numbers), so the leak scan knows it has something to find. */
  readonly cardNumbers = new Set<string>();
  /** Every one-click token sent, to look for verbatim in the logs. */
  readonly tokens = new Set<string>();
}
