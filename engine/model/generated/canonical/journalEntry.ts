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
   * The externalId of the entry this one reverses (its debits and credits swapped): how a payout that failed after it was journaled is undone, never by editing or deleting the posted entry.
   */
  reverses?: ExternalId;
  /**
   * At least two lines; debits and credits balance.
   *
   * @minItems 2
   */
  lines: JournalLine[];
}
