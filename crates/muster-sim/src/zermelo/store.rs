//! The portal's data and its rules (zermelo.md §3–§5): users keyed by `code`, student records,
//! the classes of each school and year (DepartmentOfBranch), and class placements.
//!
//! Rules kept here: a `code` is required and unique, `isStudent` true creates the student
//! record, a PUT merges only what was sent and never changes `code`, archiving keeps the user
//! readable, placements only add (delete only where the switch allows it, decided in `routes`)
//! and need a known student and class. Ids are integers counted from fixed bases per entity, so
//! runs are reproducible and an id of one kind is never mistaken for another's.
//!
//! Every look-up is by index: users and students by code, classes by id (counted from their
//! base), and each student's placements through `placements_by_student`, so reading one student
//! or placing one in a class of 100,000 costs O(log n) plus its own placements.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::error::ZermeloError;
use super::input::{PlacementInput, Text, UserInput};

/// Members of a user, for `fields`.
pub const USER_FIELDS: [&str; 9] = [
    "id",
    "code",
    "firstName",
    "prefix",
    "lastName",
    "email",
    "isStudent",
    "isEmployee",
    "archived",
];
/// Members of a student record.
pub const STUDENT_FIELDS: [&str; 3] = ["id", "userCode", "studentInDepartments"];
/// Members of a DepartmentOfBranch.
pub const DEPARTMENT_FIELDS: [&str; 4] = [
    "id",
    "code",
    "schoolInSchoolYearName",
    "schoolInSchoolYearId",
];
/// Members of a StudentInDepartment.
pub const PLACEMENT_FIELDS: [&str; 5] = [
    "id",
    "student",
    "departmentOfBranch",
    "departmentOfBranchCode",
    "participationWeight",
];

const USER_ID_BASE: u64 = 10_000;
const STUDENT_ID_BASE: u64 = 20_000;
const PLACEMENT_ID_BASE: u64 = 40_000;
const SCHOOL_YEAR_ID_BASE: u64 = 300;
const DEPARTMENT_ID_BASE: u64 = 500;

/// One user. Text members are never null here: an unset one is `""` (the simulator's choice).
#[derive(Debug, Clone)]
struct User {
    id: u64,
    code: String,
    first_name: String,
    prefix: String,
    last_name: String,
    email: String,
    is_student: bool,
    is_employee: bool,
    archived: bool,
}

#[derive(Debug, Clone)]
struct Student {
    id: u64,
    /// The code it is found under in `students/{code}`.
    key: String,
    /// Normally equal to `key`; a seed may make them differ (zermelo.md §5, the defect case).
    user_code: String,
}

#[derive(Debug, Clone)]
struct Department {
    id: u64,
    code: String,
    school_year_id: u64,
    school_year_name: String,
}

#[derive(Debug, Clone)]
struct Placement {
    id: u64,
    student: String,
    department: u64,
    weight: Option<f64>,
}

/// Everything the simulated portal holds.
#[derive(Debug, Default)]
pub struct Store {
    users: Vec<User>,
    user_index: HashMap<String, usize>,
    students: Vec<Student>,
    student_index: HashMap<String, usize>,
    /// `(school, year)` → SchoolInSchoolYear id.
    school_years: Vec<((String, String), u64)>,
    departments: Vec<Department>,
    placements: BTreeMap<u64, Placement>,
    /// Placement `student` (the code sent) → ids of its placements, oldest first.
    placements_by_student: HashMap<String, BTreeSet<u64>>,
    next_placement: u64,
}

fn set(target: &mut String, value: Text) {
    if let Text::Set(v) = value {
        *target = v;
    }
}

impl Store {
    /// Removes users, students and placements and restarts their ids; the classes stay, being
    /// the portal's setup rather than data a run writes.
    pub fn clear(&mut self) {
        *self = Self {
            school_years: std::mem::take(&mut self.school_years),
            departments: std::mem::take(&mut self.departments),
            ..Self::default()
        };
    }

    /// Adds a class `code` of `school` in `year` (e.g. `"2024-2025"`) and returns its id. The
    /// SchoolInSchoolYear `"{school} {year}"` is created with its first class.
    pub fn add_department(&mut self, school: &str, year: &str, code: &str) -> u64 {
        let key = (school.to_string(), year.to_string());
        let school_year_id = match self.school_years.iter().find(|(k, _)| *k == key) {
            Some((_, id)) => *id,
            None => {
                let id = SCHOOL_YEAR_ID_BASE + self.school_years.len() as u64 + 1;
                self.school_years.push((key, id));
                id
            }
        };
        let id = DEPARTMENT_ID_BASE + self.departments.len() as u64 + 1;
        self.departments.push(Department {
            id,
            code: code.to_string(),
            school_year_id,
            school_year_name: format!("{school} {year}"),
        });
        id
    }

    /// The id of class `code` of `school` in `year`, all compared ignoring case.
    pub fn department_id(&self, school: &str, year: &str, code: &str) -> Option<u64> {
        let name = format!("{school} {year}").to_lowercase();
        self.departments
            .iter()
            .find(|d| {
                d.code.eq_ignore_ascii_case(code) && d.school_year_name.to_lowercase() == name
            })
            .map(|d| d.id)
    }

    /// Class `id`: ids are counted from [`DEPARTMENT_ID_BASE`] in the order added.
    fn department(&self, id: u64) -> Option<&Department> {
        let at = id.checked_sub(DEPARTMENT_ID_BASE + 1)?;
        self.departments
            .get(usize::try_from(at).ok()?)
            .filter(|d| d.id == id)
    }

    /// How many users there are.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// How many classes there are.
    pub fn department_count(&self) -> usize {
        self.departments.len()
    }

    /// How many placements there are.
    pub fn placement_count(&self) -> usize {
        self.placements.len()
    }

    fn user_at(&self, code: &str) -> Option<&User> {
        self.user_index.get(code).and_then(|i| self.users.get(*i))
    }

    fn student_at(&self, code: &str) -> Option<&Student> {
        self.student_index
            .get(code)
            .and_then(|i| self.students.get(*i))
    }

    /// Creates a user by the rules of `POST users`; returns its code.
    pub fn create_user(&mut self, input: UserInput) -> Result<String, ZermeloError> {
        let code = input
            .code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ZermeloError::bad("code is required"))?;
        if self.user_index.contains_key(&code) {
            return Err(ZermeloError::new(
                StatusCode::CONFLICT,
                format!("User {code} already exists"),
            )
            .with_details("code must be unique"));
        }
        let mut user = User {
            id: USER_ID_BASE + self.users.len() as u64 + 1,
            code: code.clone(),
            first_name: String::new(),
            prefix: String::new(),
            last_name: String::new(),
            email: String::new(),
            is_student: false,
            is_employee: false,
            archived: false,
        };
        Self::merge(&mut user, input);
        let is_student = user.is_student;
        self.user_index.insert(code.clone(), self.users.len());
        self.users.push(user);
        if is_student {
            self.ensure_student(&code, &code);
        }
        Ok(code)
    }

    /// Applies `PUT users/{code}`: merges the members sent; `code` may be sent but not changed.
    pub fn update_user(&mut self, code: &str, input: UserInput) -> Result<(), ZermeloError> {
        let at = *self
            .user_index
            .get(code)
            .ok_or_else(|| ZermeloError::not_found("User", code))?;
        if let Some(sent) = input.code.as_deref().filter(|c| *c != code) {
            return Err(ZermeloError::bad("code cannot be changed")
                .with_details(format!("the body says {sent}, the path {code}")));
        }
        let Some(user) = self.users.get_mut(at) else {
            return Err(ZermeloError::not_found("User", code));
        };
        let make_student = input.is_student == Some(true);
        Self::merge(user, input);
        if make_student {
            self.ensure_student(code, code);
        }
        Ok(())
    }

    fn merge(u: &mut User, input: UserInput) {
        set(&mut u.first_name, input.first_name);
        set(&mut u.prefix, input.prefix);
        set(&mut u.last_name, input.last_name);
        set(&mut u.email, input.email);
        u.is_student = input.is_student.unwrap_or(u.is_student);
        u.is_employee = input.is_employee.unwrap_or(u.is_employee);
        u.archived = input.archived.unwrap_or(u.archived);
    }

    /// The student record at `key`, created with `user_code` if there is none; returns its id.
    pub fn ensure_student(&mut self, key: &str, user_code: &str) -> u64 {
        if let Some(s) = self.student_at(key) {
            return s.id;
        }
        let id = STUDENT_ID_BASE + self.students.len() as u64 + 1;
        self.student_index
            .insert(key.to_string(), self.students.len());
        self.students.push(Student {
            id,
            key: key.to_string(),
            user_code: user_code.to_string(),
        });
        id
    }

    /// Whether a student record exists at `key`.
    pub fn has_student(&self, key: &str) -> bool {
        self.student_at(key).is_some()
    }

    /// Appends a placement by the rules of `POST studentsindepartments`; returns its id.
    pub fn add_placement(&mut self, input: PlacementInput) -> Result<u64, ZermeloError> {
        if !self.has_student(&input.student) {
            return Err(ZermeloError::not_found("Student", &input.student));
        }
        if self.department(input.department).is_none() {
            return Err(ZermeloError::not_found(
                "DepartmentOfBranch",
                &input.department.to_string(),
            ));
        }
        self.next_placement += 1;
        let id = PLACEMENT_ID_BASE + self.next_placement;
        self.placements_by_student
            .entry(input.student.clone())
            .or_default()
            .insert(id);
        self.placements.insert(
            id,
            Placement {
                id,
                student: input.student,
                department: input.department,
                weight: input.weight,
            },
        );
        Ok(id)
    }

    /// Removes placement `id`.
    pub fn delete_placement(&mut self, id: u64) -> Result<(), ZermeloError> {
        let p = self
            .placements
            .remove(&id)
            .ok_or_else(|| ZermeloError::not_found("StudentInDepartment", &id.to_string()))?;
        if let Some(ids) = self.placements_by_student.get_mut(&p.student) {
            ids.remove(&id);
            if ids.is_empty() {
                self.placements_by_student.remove(&p.student);
            }
        }
        Ok(())
    }

    /// User `code` with every member.
    pub fn render_user(&self, code: &str) -> Option<Value> {
        self.user_at(code).map(|u| {
            json!({
                "id": u.id,
                "code": u.code,
                "firstName": u.first_name,
                "prefix": u.prefix,
                "lastName": u.last_name,
                "email": u.email,
                "isStudent": u.is_student,
                "isEmployee": u.is_employee,
                "archived": u.archived,
            })
        })
    }

    /// Every user, in creation order.
    pub fn users(&self) -> Vec<Value> {
        self.users
            .iter()
            .filter_map(|u| self.render_user(&u.code))
            .collect()
    }

    /// The student record at `key`, listing its placements (StudentInDepartment, each with
    /// its `id` and class) in `studentInDepartments`, oldest first.
    pub fn render_student(&self, key: &str) -> Option<Value> {
        self.student_at(key).map(|s| {
            let placements = self.placements(Some(&s.key));
            json!({ "id": s.id, "userCode": s.user_code, "studentInDepartments": placements })
        })
    }

    /// Every student record, in creation order.
    pub fn students(&self) -> Vec<Value> {
        self.students
            .iter()
            .filter_map(|s| self.render_student(&s.key))
            .collect()
    }

    /// Every class of every school and year, in the order added.
    pub fn departments(&self) -> Vec<Value> {
        self.departments
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "code": d.code,
                    "schoolInSchoolYearName": d.school_year_name,
                    "schoolInSchoolYearId": d.school_year_id,
                })
            })
            .collect()
    }

    fn render_placement(&self, p: &Placement) -> Value {
        let code = self.department(p.department).map(|d| d.code.as_str());
        json!({
            "id": p.id,
            "student": p.student,
            "departmentOfBranch": p.department,
            "departmentOfBranchCode": code,
            "participationWeight": p.weight,
        })
    }

    /// Placement `id`.
    pub fn placement(&self, id: u64) -> Option<Value> {
        self.placements.get(&id).map(|p| self.render_placement(p))
    }

    /// Every placement, oldest first; only those of `student` when given (through the
    /// per-student index).
    pub fn placements(&self, student: Option<&str>) -> Vec<Value> {
        match student {
            None => self
                .placements
                .values()
                .map(|p| self.render_placement(p))
                .collect(),
            Some(s) => self
                .placements_by_student
                .get(s)
                .into_iter()
                .flatten()
                .filter_map(|id| self.placements.get(id))
                .map(|p| self.render_placement(p))
                .collect(),
        }
    }
}
