//! What the benchmarks (and the batch-timer test) share: the one institution every seeded
//! application belongs to.

use dingdian_store::Store;
use jiff::Timestamp;

/// Registers the benchmark's institution (id 1) in `city`.
pub async fn institution(store: &Store, city: &str, now: Timestamp) {
    let uscc = dingdian_core::ids::Uscc::with_check("91230102MA0000000").unwrap();
    store
        .ensure_institution(
            dingdian_store::NewInstitution {
                uscc: &uscc,
                name: "基准机构",
                kind: dingdian_core::policy::InstitutionKind::Medical,
                category: "诊所",
                city,
                district: "230102",
                national_code: None,
                address: "-",
                beds: 0,
            },
            now,
        )
        .await
        .unwrap();
}
