import { z } from 'zod';

// Money is an integer amount of minor units (cents) and an ISO 4217 currency: never a float.
export const moneySchema = z
  .object({
    amount: z.number().int().nonnegative(),
    currency: z.string().regex(/^[A-Z]{3}$/),
  })
  .strict();
export type Money = z.infer<typeof moneySchema>;

export function multiply(money: Money, quantity: number): Money {
  return { amount: money.amount * quantity, currency: money.currency };
}

export function formatMoney(money: Money): string {
  const major = Math.trunc(money.amount / 100);
  const minor = String(money.amount % 100).padStart(2, '0');
  return `${major}.${minor} ${money.currency}`;
}
