/**
 * ISO 4217: the currencies an amount can be in, and each one's minor units (digits after the point): the one table
 * rsync rounds and checks amounts with. Most have 2; JPY, KRW and the CFA francs have none; the Gulf dinars have 3;
 * the Chilean and Uruguayan units of account have 4.
 *
 * Source: ISO 4217 list one (current currency & funds), as published by SIX, the maintenance agency
 * (https://www.six-group.com/en/products-services/financial-information/data-standards.html), amendments to
 * 2025 included (XCG replaces ANG; ZWG, SLE, VED are listed). Codes without minor units (gold, SDR, test and
 * "no currency" codes: XAU, XDR, XTS, XXX…) are not currencies an order can be in and are not listed.
 */

const ZERO = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const THREE = 'BHD IQD JOD KWD LYD OMR TND';
const FOUR = 'CLF UYW';
const TWO =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE ' +
  'CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL ' +
  'HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR ' +
  'MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK ' +
  'SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD ' +
  'XCG YER ZAR ZMW ZWG';

const MINOR_UNITS: ReadonlyMap<string, number> = new Map(
  (
    [
      [ZERO, 0],
      [TWO, 2],
      [THREE, 3],
      [FOUR, 4],
    ] as const
  ).flatMap(([codes, digits]) => codes.split(' ').map((c) => [c, digits] as const)),
);

/** The currency's minor units (digits after the point), or undefined when it is not an ISO 4217 currency. */
export function minorUnits(currency: string): number | undefined {
  return MINOR_UNITS.get(currency);
}

/** Every currency of the table, sorted (for docs and tests). */
export function currencies(): string[] {
  return [...MINOR_UNITS.keys()].sort();
}
