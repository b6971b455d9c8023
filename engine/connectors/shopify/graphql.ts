/**
 * What the shopify connector (connector.ts), its bulk reader (bulk.ts) and its fake (fake.ts) share about Shopify's
 * GraphQL Admin API: the node selection of each stream (the fields asked for, nested connections as `nodes`), the
 * documented query cost of a selection, and the converters of GraphQL nodes into the REST / webhook JSON shape the
 * template mappings read (templates/shopify-orders-to-erp/2/mappings/shopify-order.jsonata).
 *
 * Cost (https://shopify.dev/docs/api/usage/limits#cost-calculation): a scalar or an enum costs 0, an object 1, a
 * connection 2 plus `first` times the cost of one of its nodes, a mutation 10; a query may request at most 1,000
 * points (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits: MAX_COST_EXCEEDED).
 *
 * The REST shape (https://shopify.dev/docs/api/admin-rest/latest/resources/order and the webhook samples): numeric ids
 * from the gids (and the gid kept as admin_graphql_api_id, which the mappings prefer: a 64-bit id is not safe as a
 * JSON number), money as decimal strings from the MoneyBag's shopMoney.amount with the `_set` MoneyBag beside it,
 * snake_case names, enums in lower case.
 */

// biome-ignore lint/suspicious/noExplicitAny: Shopify's nodes, read field by field
export type Obj = Record<string, any>;

/** The most points one query may request. */
export const MAX_QUERY_COST = 1000;
/** Shopify's cap on `first`. */
export const MAX_FIRST = 250;

const MONEY = 'shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }';
const ADDRESS =
  'firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone';
const TAX_LINES = `taxLines { title rate priceSet { ${MONEY} } }`;
const ALLOCATIONS = `discountAllocations { allocatedAmountSet { ${MONEY} } discountApplication { index } }`;

/**
 * Line items read with an order in a paginated read: an order with more has its lineItems' pageInfo say so, and the
 * connector reads the rest by `order(id) { lineItems(after:) }` (a bulk operation has no such limit).
 */
export const ORDER_LINES = 10;

/** An order's discount applications and shipping lines: read with it, the rest by follow-up pages (connector.ts). */
export const DISCOUNT_APPLICATION_FIELDS = `__typename index allocationMethod targetSelection targetType
  value { __typename ... on MoneyV2 { amount currencyCode } ... on PricingPercentageValue { percentage } }
  ... on DiscountCodeApplication { code } ... on ManualDiscountApplication { title description }
  ... on AutomaticDiscountApplication { title } ... on ScriptDiscountApplication { title }`;
export const SHIPPING_LINE_FIELDS = `id title code source isRemoved originalPriceSet { ${MONEY} } ${TAX_LINES} ${ALLOCATIONS}`;

export const LINE_ITEM_FIELDS = `id name title sku quantity currentQuantity isGiftCard requiresShipping vendor variantTitle
  variant { id } originalUnitPriceSet { ${MONEY} } ${TAX_LINES} ${ALLOCATIONS}`;

export const ORDER_FIELDS = `id name email phone createdAt updatedAt processedAt cancelledAt cancelReason closedAt test note tags
currencyCode presentmentCurrencyCode taxesIncluded dutiesIncluded sourceName displayFinancialStatus displayFulfillmentStatus
subtotalPriceSet { ${MONEY} } totalPriceSet { ${MONEY} } totalTaxSet { ${MONEY} } totalDiscountsSet { ${MONEY} }
currentSubtotalPriceSet { ${MONEY} } currentTotalPriceSet { ${MONEY} } currentTotalTaxSet { ${MONEY} } currentTotalDiscountsSet { ${MONEY} }
totalShippingPriceSet { ${MONEY} } totalTipReceivedSet { ${MONEY} }
currentTotalDutiesSet { ${MONEY} } originalTotalDutiesSet { ${MONEY} }
currentTotalAdditionalFeesSet { ${MONEY} } originalTotalAdditionalFeesSet { ${MONEY} }
discountCodes
customer { id email phone firstName lastName }
billingAddress { ${ADDRESS} } shippingAddress { ${ADDRESS} }
${TAX_LINES}
discountApplications(first: 5) { nodes { ${DISCOUNT_APPLICATION_FIELDS} } pageInfo { hasNextPage endCursor } }
lineItems(first: ${ORDER_LINES}) { nodes { ${LINE_ITEM_FIELDS} } pageInfo { hasNextPage endCursor } }
shippingLines(first: 3, includeRemovals: true) { nodes { ${SHIPPING_LINE_FIELDS} } pageInfo { hasNextPage endCursor } }
refunds { id }`;

/** A refund's and a fulfilment's lists, read with them, the rest by follow-up pages (connector.ts complete). */
export const REFUND_LINE_FIELDS = `id quantity restockType lineItem { id sku } subtotalSet { ${MONEY} } totalTaxSet { ${MONEY} }`;
export const REFUND_TRANSACTION_FIELDS = `id kind status gateway processedAt amountSet { ${MONEY} }`;
export const FULFILLMENT_LINE_FIELDS = 'id quantity lineItem { id sku }';

export const REFUND_FIELDS = `id createdAt note totalRefundedSet { ${MONEY} }
refundLineItems(first: 10) { nodes { ${REFUND_LINE_FIELDS} } pageInfo { hasNextPage endCursor } }
transactions(first: 3) { nodes { ${REFUND_TRANSACTION_FIELDS} } pageInfo { hasNextPage endCursor } }`;

export const FULFILLMENT_FIELDS = `id name status createdAt updatedAt trackingInfo { company number url }
fulfillmentLineItems(first: 10) { nodes { ${FULFILLMENT_LINE_FIELDS} } pageInfo { hasNextPage endCursor } }`;

export const TRANSACTION_FIELDS = `id kind status gateway test createdAt processedAt authorizationCode errorCode
amountSet { ${MONEY} } parentTransaction { id }`;

/** A product's variants read with it (more: read by `product(id) { variants(after:) }`). */
export const VARIANT_FIELDS = `id title sku barcode price compareAtPrice position taxable inventoryQuantity createdAt updatedAt
  inventoryItem { id }`;

export const PRODUCT_FIELDS = `id title handle descriptionHtml vendor productType status tags createdAt updatedAt publishedAt
variants(first: 100) { nodes { ${VARIANT_FIELDS} } pageInfo { hasNextPage endCursor } }`;

export const CUSTOMER_FIELDS = `id email phone firstName lastName state note tags verifiedEmail taxExempt createdAt updatedAt
defaultAddress { id ${ADDRESS} }`;

export const INVENTORY_LEVEL_FIELDS = `id updatedAt location { id } item { id sku }
quantities(names: ["available", "on_hand"]) { name quantity }`;

/**
 * Each stream's read: the root connection (searched by updated_at, sortKey UPDATED_AT) and the node selection. The
 * order children (refunds, fulfillments, transactions) are read as the orders updated, with only the children
 * selected; inventory levels are read per location (`location(id) { inventoryLevels(query: …) }`).
 */
export const SELECTIONS: Record<string, { root: string; fields: string }> = {
  orders: { root: 'orders', fields: ORDER_FIELDS },
  refunds: { root: 'orders', fields: `id updatedAt refunds { ${REFUND_FIELDS} }` },
  fulfillments: { root: 'orders', fields: `id updatedAt fulfillments { ${FULFILLMENT_FIELDS} }` },
  transactions: { root: 'orders', fields: `id updatedAt transactions { ${TRANSACTION_FIELDS} }` },
  products: { root: 'products', fields: PRODUCT_FIELDS },
  customers: { root: 'customers', fields: CUSTOMER_FIELDS },
  inventoryLevels: { root: 'inventoryLevels', fields: INVENTORY_LEVEL_FIELDS },
};

// ---- cost ---------------------------------------------------------------------------------------------------------

/**
 * The requested cost of a query or mutation, by Shopify's documented rules: objects 1, scalars 0, connections
 * 2 + first × a node's cost (a `nodes` or `edges { node }` selection is the node), a mutation 10 a root field.
 * `first: $var` is resolved from the variables.
 */
export function queryCost(query: string, variables: Record<string, unknown> = {}): number {
  const tokens = query
    .replace(/#[^\n]*/g, '')
    .match(/\.\.\.|[A-Za-z_$][\w$]*|\(|\)|\{|\}|"(?:[^"\\]|\\.)*"|[:!,@=]|-?\d+/g);
  if (!tokens) return 0;
  let i = 0;
  const mutation = tokens[0] === 'mutation';
  // Skip to the operation's selection set.
  while (i < tokens.length && tokens[i] !== '{') {
    if (tokens[i] === '(') skipParens();
    else i++;
  }
  function skipParens(): string {
    let depth = 0;
    const start = i;
    do {
      if (tokens![i] === '(') depth++;
      else if (tokens![i] === ')') depth--;
      i++;
    } while (depth > 0 && i < tokens!.length);
    return tokens!.slice(start, i).join(' ');
  }
  const firstOf = (args: string): number | undefined => {
    const m = /\b(?:first|last)\s*:\s*(\$?\w+)/.exec(args);
    if (!m) return undefined;
    const v = m[1].startsWith('$') ? Number(variables[m[1].slice(1)]) : Number(m[1]);
    return Number.isFinite(v) ? v : undefined;
  };
  /** The cost of a selection set starting at `{`; inConnection: the set of a connection (its nodes counted). */
  function selection(): number {
    i++; // {
    let cost = 0;
    while (i < tokens!.length && tokens![i] !== '}') {
      const t = tokens![i];
      if (t === '...') {
        i++;
        if (tokens![i] === 'on') i += 2;
        if (tokens![i] === '{') cost += selection();
        continue;
      }
      const name = t;
      i++;
      if (tokens![i] === ':') i += 2; // an alias
      let args = '';
      if (tokens![i] === '(') args = skipParens();
      while (tokens![i] === '@') {
        i += 2;
        if (tokens![i] === '(') skipParens();
      }
      if (tokens![i] !== '{') continue; // a scalar
      const first = firstOf(args);
      if (first !== undefined) cost += 2 + first * connectionNode();
      else if (name === 'pageInfo') selection();
      else cost += 1 + selection();
    }
    i++; // }
    return cost;
  }
  /** The cost of one node of a connection: its `nodes { … }` or `edges { node { … } }`. */
  function connectionNode(): number {
    i++; // {
    let cost = 0;
    let other = 0;
    let connection = false;
    while (i < tokens!.length && tokens![i] !== '}') {
      const name = tokens![i++];
      let args = '';
      if (tokens![i] === '(') args = skipParens();
      if (tokens![i] !== '{') continue;
      if (name === 'nodes' || name === 'node') {
        connection = true;
        cost = Math.max(cost, 1 + selection());
      } else if (name === 'edges') {
        connection = true;
        cost = Math.max(cost, connectionNode());
      } else if (name === 'pageInfo') selection();
      else {
        const first = firstOf(args);
        other += first !== undefined ? 2 + first * connectionNode() : 1 + selection();
      }
    }
    i++;
    // A list with `first` (Order.refunds, Order.fulfillments) selects its objects directly.
    return connection ? cost : 1 + other;
  }
  if (i >= tokens.length) return 0;
  if (mutation) {
    // 10 a mutation field (what it returns is not counted).
    i++;
    let roots = 0;
    while (i < tokens.length && tokens[i] !== '}') {
      i++;
      if (tokens[i] === ':') i += 2;
      if (tokens[i] === '(') skipParens();
      while (tokens[i] === '@') {
        i += 2;
        if (tokens[i] === '(') skipParens();
      }
      if (tokens[i] === '{') selection();
      roots++;
    }
    return 10 * roots;
  }
  return selection();
}

/** The cost of one node of a stream's selection (a connection's node). */
export const nodeCost = (fields: string): number => queryCost(`{ x(first: 1) { nodes { ${fields} } } }`) - 2;

// ---- converters ---------------------------------------------------------------------------------------------------

/** gid://shopify/Order/450789469 → "450789469" (null for none). */
export function legacyId(gid: unknown): string | null {
  if (typeof gid !== 'string' || gid === '') return null;
  const tail = gid.split('/').pop() ?? '';
  return tail.split('?')[0] || null;
}

/** A numeric id as REST gives it: a JSON number when safe, else the digits (a 64-bit id would lose precision). */
export function restId(gid: unknown): number | string | null {
  const id = legacyId(gid);
  if (id === null) return null;
  const n = Number(id);
  return /^\d+$/.test(id) && Number.isSafeInteger(n) ? n : id;
}

const money = (m: Obj | null | undefined) =>
  m ? { amount: String(m.amount), currency_code: m.currencyCode } : { amount: '0.00', currency_code: null };
/** A MoneyBag as REST's `_set`. */
export function moneySet(bag: Obj | null | undefined): Obj | null {
  if (!bag) return null;
  return { shop_money: money(bag.shopMoney), presentment_money: money(bag.presentmentMoney ?? bag.shopMoney) };
}
/** A MoneyBag's shop amount as REST's decimal string. */
export const amount = (bag: Obj | null | undefined): string | null =>
  bag?.shopMoney?.amount !== undefined && bag.shopMoney.amount !== null ? String(bag.shopMoney.amount) : null;

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : null);
const nodes = (c: Obj | Obj[] | null | undefined): Obj[] => (Array.isArray(c) ? c : (c?.nodes ?? []));
const tags = (t: unknown) => (Array.isArray(t) ? t.join(', ') : typeof t === 'string' ? t : '');
const ids = (gid: unknown) => ({ id: restId(gid), admin_graphql_api_id: gid ?? null });

function address(a: Obj | null | undefined): Obj | null {
  if (!a) return null;
  return {
    ...(a.id ? { id: restId(a.id) } : {}),
    first_name: a.firstName ?? null,
    last_name: a.lastName ?? null,
    company: a.company ?? null,
    address1: a.address1 ?? null,
    address2: a.address2 ?? null,
    city: a.city ?? null,
    province: a.province ?? null,
    province_code: a.provinceCode ?? null,
    zip: a.zip ?? null,
    country: a.country ?? null,
    country_code: a.countryCodeV2 ?? null,
    phone: a.phone ?? null,
  };
}

const taxLines = (ts: Obj[] | null | undefined) =>
  (ts ?? []).map((t) => ({ title: t.title, rate: t.rate, price: amount(t.priceSet), price_set: moneySet(t.priceSet) }));

const allocations = (as: Obj[] | null | undefined) =>
  (as ?? []).map((a) => ({
    amount: amount(a.allocatedAmountSet),
    amount_set: moneySet(a.allocatedAmountSet),
    discount_application_index: a.discountApplication?.index ?? null,
  }));

const APPLICATION_TYPES: Record<string, string> = {
  DiscountCodeApplication: 'discount_code',
  ManualDiscountApplication: 'manual',
  AutomaticDiscountApplication: 'automatic',
  ScriptDiscountApplication: 'script',
};

const FULFILLMENT_STATUS: Record<string, string | null> = {
  FULFILLED: 'fulfilled',
  PARTIALLY_FULFILLED: 'partial',
  UNFULFILLED: null,
  RESTOCKED: 'restocked',
};

/** An Order node as the REST / webhook order. */
export function orderRecord(o: Obj): Obj {
  const apps = nodes(o.discountApplications).map((a) => ({
    type: APPLICATION_TYPES[a.__typename] ?? 'manual',
    ...(a.code !== undefined ? { code: a.code } : {}),
    ...(a.title !== undefined ? { title: a.title } : {}),
    ...(a.description !== undefined ? { description: a.description } : {}),
    value: a.value?.amount !== undefined ? String(a.value.amount) : String(a.value?.percentage ?? ''),
    value_type: a.value?.amount !== undefined ? 'fixed_amount' : 'percentage',
    allocation_method: lower(a.allocationMethod),
    target_selection: lower(a.targetSelection),
    target_type: lower(a.targetType),
  }));
  const lines = nodes(o.lineItems).map((l) => ({
    ...ids(l.id),
    name: l.name ?? null,
    title: l.title ?? null,
    sku: l.sku ?? null,
    quantity: l.quantity,
    current_quantity: l.currentQuantity ?? l.quantity,
    gift_card: l.isGiftCard === true,
    requires_shipping: l.requiresShipping ?? null,
    vendor: l.vendor ?? null,
    variant_title: l.variantTitle ?? null,
    variant_id: restId(l.variant?.id),
    price: amount(l.originalUnitPriceSet),
    price_set: moneySet(l.originalUnitPriceSet),
    tax_lines: taxLines(l.taxLines),
    discount_allocations: allocations(l.discountAllocations),
  }));
  const shipping = nodes(o.shippingLines).map((s) => ({
    id: restId(s.id),
    title: s.title ?? null,
    code: s.code ?? null,
    source: s.source ?? null,
    is_removed: s.isRemoved === true,
    price: amount(s.originalPriceSet),
    price_set: moneySet(s.originalPriceSet),
    tax_lines: taxLines(s.taxLines),
    discount_allocations: allocations(s.discountAllocations),
  }));
  // REST's discount_codes: each code used, with what it took off (its allocations, in shop money).
  const codes = (Array.isArray(o.discountCodes) ? o.discountCodes : []).map((code: string) => {
    const index = nodes(o.discountApplications).find((a) => a.code === code)?.index;
    let cents = 0n;
    let scale = 2;
    for (const l of [...lines, ...shipping])
      for (const a of l.discount_allocations)
        if (index !== undefined && a.discount_application_index === index && a.amount !== null) {
          const [w, f = ''] = a.amount.split('.');
          scale = Math.max(scale, f.length);
          cents += BigInt(w + f.padEnd(scale, '0'));
        }
    const s = cents.toString().padStart(scale + 1, '0');
    const app = apps.find((a) => a.code === code);
    return {
      code,
      amount: `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`,
      type: app?.target_type === 'shipping_line' ? 'shipping' : (app?.value_type ?? 'fixed_amount'),
    };
  });
  const set = (name: string) => moneySet(o[name]);
  return {
    ...ids(o.id),
    name: o.name ?? null,
    email: o.email ?? null,
    phone: o.phone ?? null,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    processed_at: o.processedAt ?? null,
    cancelled_at: o.cancelledAt ?? null,
    cancel_reason: lower(o.cancelReason),
    closed_at: o.closedAt ?? null,
    test: o.test === true,
    note: o.note ?? null,
    tags: tags(o.tags),
    currency: o.currencyCode,
    presentment_currency: o.presentmentCurrencyCode ?? o.currencyCode,
    taxes_included: o.taxesIncluded === true,
    duties_included: o.dutiesIncluded === true,
    source_name: o.sourceName ?? null,
    financial_status: lower(o.displayFinancialStatus),
    fulfillment_status:
      typeof o.displayFulfillmentStatus === 'string'
        ? o.displayFulfillmentStatus in FULFILLMENT_STATUS
          ? FULFILLMENT_STATUS[o.displayFulfillmentStatus]
          : o.displayFulfillmentStatus.toLowerCase()
        : null,
    subtotal_price: amount(o.subtotalPriceSet),
    subtotal_price_set: set('subtotalPriceSet'),
    total_price: amount(o.totalPriceSet),
    total_price_set: set('totalPriceSet'),
    total_tax: amount(o.totalTaxSet),
    total_tax_set: set('totalTaxSet'),
    total_discounts: amount(o.totalDiscountsSet),
    total_discounts_set: set('totalDiscountsSet'),
    current_subtotal_price: amount(o.currentSubtotalPriceSet),
    current_subtotal_price_set: set('currentSubtotalPriceSet'),
    current_total_price: amount(o.currentTotalPriceSet),
    current_total_price_set: set('currentTotalPriceSet'),
    current_total_tax: amount(o.currentTotalTaxSet),
    current_total_tax_set: set('currentTotalTaxSet'),
    current_total_discounts: amount(o.currentTotalDiscountsSet),
    current_total_discounts_set: set('currentTotalDiscountsSet'),
    total_shipping_price_set: set('totalShippingPriceSet'),
    total_tip_received: amount(o.totalTipReceivedSet) ?? '0.00',
    current_total_duties_set: set('currentTotalDutiesSet'),
    original_total_duties_set: set('originalTotalDutiesSet'),
    current_total_additional_fees_set: set('currentTotalAdditionalFeesSet'),
    original_total_additional_fees_set: set('originalTotalAdditionalFeesSet'),
    customer: o.customer
      ? {
          ...ids(o.customer.id),
          email: o.customer.email ?? null,
          phone: o.customer.phone ?? null,
          first_name: o.customer.firstName ?? null,
          last_name: o.customer.lastName ?? null,
        }
      : null,
    billing_address: address(o.billingAddress),
    shipping_address: address(o.shippingAddress),
    tax_lines: taxLines(o.taxLines),
    discount_codes: codes,
    discount_applications: apps,
    line_items: lines,
    shipping_lines: shipping,
    refunds: (Array.isArray(o.refunds) ? o.refunds : nodes(o.refunds)).map((r: Obj) => ids(r.id)),
  };
}

/** A Refund node (of order `orderGid`) as the REST refund. */
export function refundRecord(r: Obj, orderGid: string): Obj {
  return {
    ...ids(r.id),
    order_id: restId(orderGid),
    created_at: r.createdAt,
    note: r.note ?? null,
    refund_line_items: nodes(r.refundLineItems).map((l) => ({
      id: restId(l.id),
      line_item_id: restId(l.lineItem?.id),
      quantity: l.quantity,
      restock_type: lower(l.restockType),
      subtotal: amount(l.subtotalSet),
      subtotal_set: moneySet(l.subtotalSet),
      total_tax: amount(l.totalTaxSet),
      total_tax_set: moneySet(l.totalTaxSet),
      line_item: l.lineItem ? { ...ids(l.lineItem.id), sku: l.lineItem.sku ?? null } : null,
    })),
    transactions: nodes(r.transactions).map((t) => transactionRecord(t, orderGid)),
    order_adjustments: [],
  };
}

export function fulfillmentRecord(f: Obj, orderGid: string): Obj {
  const tracking: Obj[] = f.trackingInfo ?? [];
  return {
    ...ids(f.id),
    order_id: restId(orderGid),
    name: f.name ?? null,
    status: lower(f.status),
    created_at: f.createdAt,
    updated_at: f.updatedAt,
    tracking_company: tracking[0]?.company ?? null,
    tracking_number: tracking[0]?.number ?? null,
    tracking_numbers: tracking.map((t) => t.number).filter(Boolean),
    tracking_urls: tracking.map((t) => t.url).filter(Boolean),
    line_items: nodes(f.fulfillmentLineItems).map((l) => ({
      ...ids(l.lineItem?.id),
      sku: l.lineItem?.sku ?? null,
      quantity: l.quantity,
    })),
  };
}

export function transactionRecord(t: Obj, orderGid: string): Obj {
  return {
    ...ids(t.id),
    order_id: restId(orderGid),
    kind: lower(t.kind),
    status: lower(t.status),
    gateway: t.gateway ?? null,
    test: t.test === true,
    created_at: t.createdAt ?? t.processedAt ?? null,
    processed_at: t.processedAt ?? null,
    authorization: t.authorizationCode ?? null,
    error_code: lower(t.errorCode),
    amount: amount(t.amountSet),
    currency: t.amountSet?.shopMoney?.currencyCode ?? null,
    parent_id: restId(t.parentTransaction?.id),
  };
}

export function productRecord(p: Obj): Obj {
  return {
    ...ids(p.id),
    title: p.title,
    handle: p.handle ?? null,
    body_html: p.descriptionHtml ?? null,
    vendor: p.vendor ?? null,
    product_type: p.productType ?? null,
    status: lower(p.status),
    tags: tags(p.tags),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    published_at: p.publishedAt ?? null,
    variants: nodes(p.variants).map((v) => ({
      ...ids(v.id),
      product_id: restId(p.id),
      title: v.title ?? null,
      sku: v.sku ?? null,
      barcode: v.barcode ?? null,
      price: v.price === null || v.price === undefined ? null : String(v.price),
      compare_at_price: v.compareAtPrice === null || v.compareAtPrice === undefined ? null : String(v.compareAtPrice),
      position: v.position ?? null,
      taxable: v.taxable ?? null,
      inventory_quantity: v.inventoryQuantity ?? null,
      inventory_item_id: restId(v.inventoryItem?.id),
      created_at: v.createdAt ?? null,
      updated_at: v.updatedAt ?? null,
    })),
  };
}

export function customerRecord(c: Obj): Obj {
  return {
    ...ids(c.id),
    email: c.email ?? null,
    phone: c.phone ?? null,
    first_name: c.firstName ?? null,
    last_name: c.lastName ?? null,
    state: lower(c.state),
    note: c.note ?? null,
    tags: tags(c.tags),
    verified_email: c.verifiedEmail ?? null,
    tax_exempt: c.taxExempt ?? null,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    default_address: address(c.defaultAddress),
  };
}

export function inventoryLevelRecord(l: Obj): Obj {
  const q = (name: string) => (l.quantities ?? []).find((x: Obj) => x.name === name)?.quantity ?? null;
  return {
    admin_graphql_api_id: l.id,
    inventory_item_id: restId(l.item?.id),
    location_id: restId(l.location?.id),
    available: q('available'),
    on_hand: q('on_hand'),
    sku: l.item?.sku ?? null,
    updated_at: l.updatedAt,
  };
}

/**
 * A node of a stream's selection (SELECTIONS) as the stream's records in the REST shape: one record for most
 * streams; for refunds, fulfillments and transactions the Order node's children.
 */
export function convert(stream: string, node: Obj): Obj[] {
  switch (stream) {
    case 'orders':
      return [orderRecord(node)];
    case 'refunds':
      return nodes(node.refunds).map((r) => refundRecord(r, node.id));
    case 'fulfillments':
      return nodes(node.fulfillments).map((f) => fulfillmentRecord(f, node.id));
    case 'transactions':
      return nodes(node.transactions).map((t) => transactionRecord(t, node.id));
    case 'products':
      return [productRecord(node)];
    case 'customers':
      return [customerRecord(node)];
    case 'inventoryLevels':
      return [inventoryLevelRecord(node)];
    default:
      throw new Error(`shopify: no stream ${stream}`);
  }
}
