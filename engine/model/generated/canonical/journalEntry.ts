/* eslint-disable */
/**
 * Generated from schemas/canonical/journalEntry.schema.json (https://rsync.dev/schemas/v1/canonical/journalEntry.schema.json)
 * by engine/model/gen-types.ts. Do not edit: change the schema and run `npm run gen:types`.
 */

import type {Currency, Money} from "../defs.js";
import type {CalendarDate, ExternalId} from "./defs.js";

/**
 * A journal line: a debit or a credit (or both, one of them zero) on an account.
 */
export type JournalLine =
  | {
      /**
       * The account (number or name, as the ERP knows it).
       */
      account: string;
      /**
       * Debit amount.
       */
      debit: Money;
      /**
       * Credit amount.
       */
      credit?: Money;
      /**
       * The line's memo.
       */
      memo?: string;
      /**
       * Accounting dimensions: name → value (e.g. { department: retail, location: chicago-01 }).
       */
      dimensions?: {
        [k: string]: string;
      };
    }
  | {
      /**
       * The account (number or name, as the ERP knows it).
       */
      account: string;
      /**
       * Debit amount.
       */
      debit?: Money;
      /**
       * Credit amount.
       */
      credit: Money;
      /**
       * The line's memo.
       */
      memo?: string;
      /**
       * Accounting dimensions: name → value (e.g. { department: retail, location: chicago-01 }).
       */
      dimensions?: {
        [k: string]: string;
      };
    };

/**
 * Canonical journal entry: a balanced set of debits and credits posted to the general ledger.
 */
export interface JournalEntry {
  /**
   * The id of what the entry records (e.g. the payout id).
   */
  externalId: ExternalId;
  /**
   * The posting date.
   */
  date: CalendarDate;
  /**
   * Currency of every amount (ISO 4217).
   */
  currency: Currency;
  /**
   * The entry's memo.
   */
  memo?: string;
  /**
   * The externalId of the entry this one reverses, wholly or in part: the lines it undoes, with their debits and credits swapped (a failed payout's net returns to the bank; Stripe's fees stay expensed). It is how a posted entry is undone — a new entry, never an edit or a deletion of the posted one — and a target posts it as an entry of its own, not with the ERP's full reversal of the original.
   */
  reverses?: ExternalId;
  /**
   * At least two lines; debits and credits balance.
   *
   * @minItems 2
   */
  lines: JournalLine[];
}
