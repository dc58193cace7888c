import { getTableName, sql, type AnyColumn, type SQL } from 'drizzle-orm';

/**
 * A column named with its table, for correlated subqueries. In a one-table
 * select drizzle writes columns bare ("id"), which inside a subquery would
 * mean the subquery's own column of that name.
 */
export function outer(column: AnyColumn): SQL {
  return sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;
}
