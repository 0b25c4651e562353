import './base.css';
import './levels.css';
import './execution.css';
