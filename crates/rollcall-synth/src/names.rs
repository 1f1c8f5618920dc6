//! Small built-in name lists for synthetic pupils and schools: made-up combinations only.

pub const BOYS: &[&str] = &[
    "Oliver", "George", "Noah", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie", "Henry",
    "Jack", "Freddie", "Theo", "Alfie", "Charlie", "Isaac",
];
pub const GIRLS: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow",
    "Rosie", "Sophia", "Isabella", "Grace", "Daisy", "Sienna",
];
pub const SURNAMES: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Lewis", "Clarke", "Jackson", "Wood", "Turner",
];
pub const PLACES: &[&str] = &[
    "Kenilworth",
    "Nuneaton",
    "Bedworth",
    "Rugby",
    "Stratford",
    "Alcester",
    "Atherstone",
    "Coleshill",
    "Southam",
    "Shipston",
    "Wellesbourne",
    "Kineton",
    "Polesworth",
    "Dunchurch",
    "Bidford",
    "Henley",
];
/// Added to a town's name for its second, third... school.
pub const DISTRICTS: &[&str] = &[
    "Park", "Hill", "Meadow", "Green", "Heath", "Fields", "Vale", "Brook",
];
pub const ETHNICITIES: &[&str] = &[
    "WBRI", "WBRI", "WBRI", "WBRI", "WBRI", "WOTH", "WIRI", "MWBC", "MWAS", "AIND", "APKN", "ABAN",
    "BCRB", "BAFR", "CHNE", "AOTH",
];
