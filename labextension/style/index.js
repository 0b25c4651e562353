import './base.css';
import './levels.css';
