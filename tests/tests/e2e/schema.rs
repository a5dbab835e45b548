//! `schema.graphql` at the top of the repository is the served schema.

#[test]
fn checked_in_schema_matches_the_served_schema() {
    let served = api::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    if checked_in != served {
        if std::env::var("UPDATE_SCHEMA").is_ok() {
            std::fs::write(path, &served).expect("write schema.graphql");
            return;
        }
        panic!(
            "schema.graphql is stale: run `cargo run -q -- print-schema > schema.graphql` \
             (or this test with UPDATE_SCHEMA=1) and commit it"
        );
    }
}

/// Every type, field, argument, input field and enum value of the served
/// schema has a description, and every custom scalar an `@specifiedBy` URL:
/// the schema is the front-end developers' documentation (GraphiQL's docs
/// pane, generated clients' comments).
#[test]
fn every_part_of_the_schema_is_described() {
    use async_graphql::parser::{
        parse_schema,
        types::{TypeKind, TypeSystemDefinition},
    };

    let sdl = api::graphql::sdl();
    let document = parse_schema(&sdl).expect("the served SDL parses");
    let mut missing = vec![];
    let mut check = |what: String, description: &Option<async_graphql::Positioned<String>>| {
        if description
            .as_ref()
            .is_none_or(|d| d.node.trim().is_empty())
        {
            missing.push(what);
        }
    };
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = &ty.node;
        let name = ty.name.node.as_str();
        check(name.to_owned(), &ty.description);
        match &ty.kind {
            TypeKind::Object(object) => {
                for field in &object.fields {
                    let field = &field.node;
                    check(format!("{name}.{}", field.name.node), &field.description);
                    for argument in &field.arguments {
                        check(
                            format!("{name}.{}({}:)", field.name.node, argument.node.name.node),
                            &argument.node.description,
                        );
                    }
                }
            }
            TypeKind::Interface(interface) => {
                for field in &interface.fields {
                    check(
                        format!("{name}.{}", field.node.name.node),
                        &field.node.description,
                    );
                }
            }
            TypeKind::InputObject(input) => {
                for field in &input.fields {
                    check(
                        format!("{name}.{}", field.node.name.node),
                        &field.node.description,
                    );
                }
            }
            TypeKind::Enum(enumeration) => {
                for value in &enumeration.values {
                    check(
                        format!("{name}.{}", value.node.value.node),
                        &value.node.description,
                    );
                }
            }
            TypeKind::Scalar => {
                let specified = ty
                    .directives
                    .iter()
                    .any(|d| d.node.name.node == "specifiedBy");
                let none = None;
                let marker = Some(async_graphql::Positioned::new(
                    "specified".to_owned(),
                    Default::default(),
                ));
                check(
                    format!("{name} (@specifiedBy)"),
                    if specified { &marker } else { &none },
                );
            }
            TypeKind::Union(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "{} parts of the schema have no description: {missing:#?}",
        missing.len()
    );
}
