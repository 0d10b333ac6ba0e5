/**
 * How money reads to people — the dashboard, the session and eval reports, the terminal's lines:
 * one `Intl.NumberFormat` per unit. Dollars with 2 decimals (`-$1,234.50`), more (up to 4) only when
 * the amount has sub-cent digits, as Kalshi's sub-penny fees and 0.1¢ ticks do (`$0.0175`); prices
 * in cents (`56¢`, `56.5¢`). Exact integer amounts in (micros, 1/10,000 $ prices); display only —
 * accounting never goes through here. Pure core.
 */
import type { Micros, Price } from './money.ts';

const dollars2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dollars4 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
const centsFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 0, maximumFractionDigits: 2 });

/** `1_234_500_000` → "$1,234.50"; `17_500` → "$0.0175"; `-2_000_000` → "-$2.00". */
export function formatUsd(amount: Micros): string {
  // whole cents print with 2 decimals; anything finer keeps its digits (up to 1/100 ¢)
  return (amount % 10_000 === 0 ? dollars2 : dollars4).format(amount / 1_000_000);
}

/** A price in cents: `5600` → "56¢", `5650` → "56.5¢". */
export function formatCents(price: Price): string {
  return `${centsFormat.format(price / 100)}¢`;
}
